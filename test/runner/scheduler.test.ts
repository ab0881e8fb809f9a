import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { executeBody, startFixture, type CallOptions, type RunnerFixture } from './support.ts';

/** Runs through the runner library itself, so the order in which jobs reach the pool is the order of these calls. */
async function run(fixture: RunnerFixture, options: CallOptions) {
  const result = await fixture.runner.execute(executeBody(options));
  const body = result.ok ? JSON.parse(Buffer.from(result.body).toString('utf8')) : undefined;
  return { ...result, status: result.ok ? result.status : result.error.status, code: result.ok ? undefined : result.error.code, body };
}

describe('runner scheduler: a job taken back from one worker runs once, and host calls are always answered (#10.3)', () => {
  let fixture: RunnerFixture;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 2 });
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('a job revoked from behind a running one, then a new job posted behind it there: both answer 200, nothing hits a deadline', async () => {
    // B's memory cap differs from A's, so its code is compiled apart and no worker prefers it for B's sake.
    const call = (tenant: string, query: string, requestId: string, timeout_ms = 4000) =>
      run(fixture, { hash: misbehave, path: '/spin', query, tenant, providers: ['alga.log'], requestId, limits: { timeout_ms, memory_mb: tenant === 'tenant-b' ? 48 : 64 } });
    // Each tenant's instance on a worker of its own.
    expect((await call('tenant-a', 'ms=0', 'warm-a')).status).toBe(200);
    expect((await call('tenant-b', 'ms=0', 'warm-b')).status).toBe(200);

    // B's short job and A's long one occupy both workers; A's next job (which calls the host) waits behind A's long one.
    const shortB = call('tenant-b', 'ms=300', 'short-b');
    const longA = call('tenant-a', 'ms=1500', 'long-a');
    const revoked = call('tenant-a', 'ms=2000&log=1&tag=revoked', 'revoked-a');
    // B's worker frees first and takes the waiting job back (where it runs past the long job's end);
    // A's next job is then posted behind the long one, in the cell the revoked job's claim used.
    expect((await shortB).status).toBe(200);
    // Old code: when the long job ends, its worker also runs the revoked job (its claim saw the new job's
    // token), whose host call is then dropped, so the worker waits forever and this job passes its deadline.
    const postedAfter = call('tenant-a', 'ms=0&log=1&tag=after', 'after-a', 3000);

    const results = await Promise.all([longA, revoked, postedAfter]);
    expect(results.map((result) => [result.status, result.code]), JSON.stringify(results.map((result) => (result.ok ? result.execution : result.error.message)))).toEqual([
      [200, undefined],
      [200, undefined],
      [200, undefined],
    ]);
    for (const [result, tag] of [[results[1], 'revoked'], [results[2], 'after']] as const) {
      expect(result.body.logged).toEqual({ ok: true });
      // The guest ran the job once: one log line for it.
      const logs = fixture.runner.events.recent({ tenant: 'tenant-a' }).filter((event) => event.stream === 'log' && event.message === `spin ${tag}`);
      expect(logs).toHaveLength(1);
    }
  });
});
