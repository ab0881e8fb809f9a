import { describe, expect, it } from 'vitest';
import { causeOf, denialsOf } from '../../host/plugins/extensions/gateway/execution-cause.ts';

/** What the execution log says caused a failure: the refused host call first, else the guest's own account. */
describe('execution-log causes', () => {
  it('names the denied capability, not only the trap it led to', () => {
    const denials = denialsOf({ denials: [{ capability: 'alga.storage', reason: 'The install was not granted alga.storage.' }], denials_dropped: 0 });
    expect(causeOf({ code: 'E_RUNNER_GUEST_TRAP', ...denials, runnerMessage: 'The extension crashed (trap); its instance was discarded. Request r1: wasm trap: unreachable' })).toBe(
      'denied alga.storage: The install was not granted alga.storage.',
    );
  });

  it('keeps few denials, clipped, and counts the rest', () => {
    const many = Array.from({ length: 8 }, (_, index) => ({ capability: 'alga.http', reason: `host-${index} ${'x'.repeat(500)}` }));
    const denials = denialsOf({ denials: [...many, { capability: 42 }], denials_dropped: 90 });
    expect(denials.denials).toHaveLength(5);
    expect(denials.denials![0].reason.length).toBe(200);
    expect(denials.denialsDropped).toBe(94);
    expect(causeOf(denials)).toMatch(/^denied alga\.http: host-0 x+… \(and 98 more refused host calls\)$/);
  });

  it("shows the guest's own account of a trap, without the runner's prefix, and nothing for the host's own problems", () => {
    expect(causeOf({ code: 'E_RUNNER_GUEST_TRAP', runnerMessage: 'The extension crashed (trap); its instance was discarded. Request abc-1: Error: the guest gave up' })).toBe('Error: the guest gave up');
    expect(causeOf({ code: 'E_RUNNER_INTERNAL', runnerMessage: 'stack with /srv/paths' })).toBeUndefined();
    expect(causeOf({ code: 'E_EXT_RATE_LIMITED', gatewayCause: 'more than 60 requests a minute' })).toBe('more than 60 requests a minute');
    expect(denialsOf(undefined)).toEqual({});
  });
});
