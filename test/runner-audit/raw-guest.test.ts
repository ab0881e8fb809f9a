// Audit of issue 3 (the runner) with hand-written components (see raw-guest.ts): what a
// signed but hostile component can do that a componentize-js guest cannot.
// Tests named "AUDIT GAP: …" fail on purpose while the gap is open.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeBody, startFixture, type RunnerFixture } from '../runner/support.ts';
import { publishRawGuest } from './raw-guest.ts';

describe('runner audit: a hostile raw component', () => {
  let fixture: RunnerFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(() => fixture?.close());

  it('AUDIT GAP: keeps host-side allocations a guest asks for within its memory cap (get-random-bytes of 256 MiB, cap 64 MB)', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { randomBytes: 256 * 1048576 });
    const peakBefore = process.resourceUsage().maxRSS * 1024;
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/x', limits: { memory_mb: 64 } }));
    const peakGrowth = process.resourceUsage().maxRSS * 1024 - peakBefore;
    expect(peakGrowth, `runner peak RSS grew by ${Math.round(peakGrowth / 1048576)} MB (answer ${status})`).toBeLessThan(256 * 1048576);
    expect(status, JSON.stringify(json).slice(0, 300)).toBe(500); // the guest cannot take 256 MiB into a 64 MB memory
  });

  it('AUDIT GAP: counts response headers toward max_response_bytes', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { headerValueBytes: 200_000 });
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/x', limits: { max_response_bytes: 1000 } }));
    expect(status).toBe(502);
    expect(json.error?.code).toBe('E_RUNNER_RESPONSE_TOO_LARGE');
  });

  it('AUDIT GAP: refuses response headers that are not valid HTTP (NUL characters in a value)', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { headerValueBytes: 10 });
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/x' }));
    expect(status, JSON.stringify(json).slice(0, 200)).toBe(500);
    expect(json.error?.code).toBe('E_RUNNER_GUEST_INVALID_RESPONSE');
  });

  it('AUDIT GAP: bounds the denials one execution can record (5,000 calls to an ungranted alga.log)', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { logCalls: 5000 });
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/x', requestId: 'req-audit-denial-flood', providers: [] }));
    expect(status).toBe(200);
    expect(json.execution.host_calls).toBe(5000);
    const events = fixture.runner.events.recent().filter((event) => event.request === 'req-audit-denial-flood');
    // The answer carries every denial, and each one is a debug event (ring + Redis), unlike alga.log's 1,000 per execution.
    expect(json.execution.denials.length).toBeLessThanOrEqual(1000);
    expect(events.length).toBeLessThanOrEqual(1000);
  });

  it('AUDIT GAP: gives every request fresh guest state under the request policy, wasm globals included', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { globalCounter: true });
    const bodies: string[] = [];
    for (let index = 0; index < 3; index++) {
      const { status, json } = await fixture.execute(executeBody({ hash, path: '/x', tenant: 'tenant-audit-globals', isolation: 'request' }));
      expect(status).toBe(200);
      bodies.push(Buffer.from(json.body_b64, 'base64').toString());
    }
    // Under the request policy the warm-up call runs first, so the first request sees the same value as every later one.
    expect(new Set(bodies).size, `bodies: ${bodies.join(', ')}`).toBe(1);
  });

  it('still runs a well-behaved raw component after all that', async () => {
    const hash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { logCalls: 2 });
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/x', providers: ['alga.log'], requestId: 'req-audit-raw-ok' }));
    expect(status).toBe(200);
    expect(Buffer.from(json.body_b64, 'base64').toString()).toBe('ok');
    expect(json.execution.log_events).toBe(2);
    expect(json.execution.denials).toEqual([]);
  });
});
