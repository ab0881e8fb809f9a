import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type RunnerFixture } from './support.ts';

interface Drawn {
  math: number[];
  crypto: number[];
  uuid: string;
  wallMs: number;
  monotonicMs: number;
}

/** Every value drawn in these calls, as text: a repeat across calls shows as fewer distinct ones. */
function distinctDraws(calls: Drawn[]): { drawn: number; distinct: number } {
  const all = calls.flatMap((call) => [...call.math.map(String), call.crypto.join(','), call.uuid]);
  return { drawn: all.length, distinct: new Set(all).size };
}

/**
 * An instance put back to a memory snapshot gets the engine's state back as it was, so anything
 * random kept there (a PRNG seeded before the snapshot) would repeat call after call. The guest
 * draws Math.random, crypto.getRandomValues and crypto.randomUUID in every call, including the
 * warm-up call the `request` policy snapshots after.
 */
describe('runner: a guest instance reset to its snapshot still draws fresh randomness and reads live clocks', () => {
  let fixture: RunnerFixture;
  let hash: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1, instancesPerWorker: 2 });
    hash = fixture.publish(guestDir('randomness'));
  });
  afterAll(() => fixture?.close());

  async function draw(options: { tenant?: string; isolation?: 'request' }): Promise<Drawn> {
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/random', ...options }));
    expect(status, JSON.stringify(json)).toBe(200);
    return guestJson(json);
  }

  it('`request` policy: every call, restored to the state after a warm-up call that drew random values, draws new ones', async () => {
    const calls: Drawn[] = [];
    for (let call = 0; call < 4; call++) {
      calls.push(await draw({ isolation: 'request' }));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(distinctDraws(calls)).toEqual({ drawn: 20, distinct: 20 });
    for (let call = 1; call < calls.length; call++) {
      expect(calls[call].wallMs - calls[call - 1].wallMs).toBeGreaterThanOrEqual(15);
      expect(calls[call].monotonicMs - calls[call - 1].monotonicMs).toBeGreaterThanOrEqual(15);
    }
    expect(Math.abs(calls.at(-1)!.wallMs - Date.now())).toBeLessThan(60_000);
  });

  it('`tenant` policy: instances handed from tenant to tenant (reset on each switch) draw new values for every tenant', async () => {
    const calls: Drawn[] = [];
    // 2 instances per worker and 6 tenants taking turns: most calls find another tenant's instance reset for them.
    for (let round = 0; round < 2; round++) for (let tenant = 0; tenant < 6; tenant++) calls.push(await draw({ tenant: `tenant-${tenant}` }));
    expect(distinctDraws(calls)).toEqual({ drawn: 60, distinct: 60 });
    for (let call = 1; call < calls.length; call++) expect(calls[call].wallMs).toBeGreaterThanOrEqual(calls[call - 1].wallMs);
    expect(Math.abs(calls.at(-1)!.wallMs - Date.now())).toBeLessThan(60_000);
    const stats = await (await fetch(`${fixture.url}/metrics`)).text();
    expect(Number(stats.match(/^runner_guest_tenant_switches_total (\d+)$/m)?.[1])).toBeGreaterThanOrEqual(8); // the resets did happen
  });
});
