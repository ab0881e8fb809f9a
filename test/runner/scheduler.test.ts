import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
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

describe('runner scheduler: fair share between tenants (#9.4)', () => {
  let fixture: RunnerFixture;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 2 });
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('tenant B is served while tenant A keeps every worker busy with handlers that loop to their deadline', async () => {
    expect((await run(fixture, { hash: misbehave, path: '/hello', tenant: 'tenant-b' })).status).toBe(200);
    const events: string[] = [];
    // A: 8 at once, each looping until its deadline: four rounds of two workers stopped and replaced.
    const loops = Array.from({ length: 8 }, (_, index) =>
      run(fixture, { hash: misbehave, path: '/loop', tenant: 'tenant-a', requestId: `loop-${index}`, limits: { timeout_ms: 1000 } }).then((result) => {
        events.push('a');
        return result;
      }),
    );
    let aDone = false;
    void Promise.all(loops).then(() => (aDone = true));
    // B, one request after the other (with a deadline as short as A's) until A's last loop ended.
    const answers: Array<{ status: number; code?: string }> = [];
    while (!aDone || answers.length < 3) {
      const { status, code } = await run(fixture, { hash: misbehave, path: '/hello', tenant: 'tenant-b', limits: { timeout_ms: 1000 } });
      answers.push({ status, code });
      events.push('b');
    }
    // A's own overload costs A alone: its loops end at their deadline (or, queued too long behind each other, 503).
    expect((await Promise.all(loops)).filter((result) => result.code !== 'E_RUNNER_DEADLINE' && result.code !== 'E_RUNNER_QUEUE_TIMEOUT')).toEqual([]);
    expect(answers.filter((answer) => answer.status !== 200), 'every B request answered 200, also while A\'s workers were replaced').toEqual([]);
    // B did not wait for A: its first answers came before any of A's loops ended.
    expect(events.slice(0, 3)).toEqual(['b', 'b', 'b']);
  });
});

describe('runner scheduler: more tenants than instances (#11)', () => {
  let fixture: RunnerFixture;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1, reserveWorkers: 0, instancesPerWorker: 2 });
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('hands instances from tenant to tenant reset to their start state: no tenant sees another\'s module state', async () => {
    const tenants = ['t-0', 't-1', 't-2', 't-3', 't-4'];
    const calls = new Map<string, number>();
    const seen: Array<[string, number, number]> = [];
    // A pattern with runs of the same tenant, so some instances keep their state for a while and others are handed over.
    for (const tenant of [...tenants, 't-0', 't-0', 't-1', 't-3', 't-3', 't-3', 't-4', 't-2', 't-0', ...tenants]) {
      const { status, body } = await run(fixture, { hash: misbehave, path: '/counter', tenant });
      expect(status).toBe(200);
      calls.set(tenant, (calls.get(tenant) ?? 0) + 1);
      seen.push([tenant, body.counter, calls.get(tenant)!]);
    }
    // Module state counts only the tenant's own calls (never more), and starts at 1 on a tenant's first call.
    expect(seen.filter(([, counter, own]) => counter > own || counter < 1)).toEqual([]);
    expect(seen.slice(0, 5).map(([, counter]) => counter)).toEqual([1, 1, 1, 1, 1]);
    // Back to back, a tenant keeps its instance: t-3's three calls in a row count up.
    expect(seen.slice(8, 11).map(([tenant, counter]) => [tenant, counter])).toEqual([['t-3', seen[8][1]], ['t-3', seen[8][1] + 1], ['t-3', seen[8][1] + 2]]);
    const stats = (await (await fetch(`${fixture.url}/metrics`)).text()).split('\n');
    const metric = (name: string) => Number(stats.find((line) => line.startsWith(`${name} `))?.split(' ')[1]);
    expect(metric('runner_guest_instances')).toBeLessThanOrEqual(2);
    expect(metric('runner_guest_tenant_switches_total')).toBeGreaterThan(0);
    expect(metric('runner_guest_instance_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('runner scheduler: every tenant starts in the state the warm-up left (#11)', () => {
  let fixture: RunnerFixture;

  // A runner each, with room for three instances: the third is born after the start state was taken from the second, and gets it put in.
  beforeEach(async () => {
    fixture = await startFixture({ workers: 1, reserveWorkers: 0, instancesPerWorker: 3 });
  });
  afterEach(() => fixture?.close());

  const tenants = ['t-0', 't-1', 't-2', 't-3', 't-4'];
  // Runs of the same tenant between turns, so instances are both kept and handed over.
  const pattern = [...tenants, 't-0', 't-0', 't-1', 't-3', 't-3', 't-3', 't-4', 't-2', 't-0', ...tenants];

  async function switches(): Promise<number> {
    const text = await fixture.runner.registry.getSingleMetricAsString('runner_guest_tenant_switches_total');
    return Number(/ (\d+)$/m.exec(text)![1]);
  }

  it('a warm-up that only computes is kept: new and handed-over instances alike start after it, and never with another tenant\'s state', async () => {
    // test/guests/misbehave warming up on `GET /counter`: the start state has counted one call.
    const hash = fixture.publishWarmingUpOn(guestDir('misbehave'), ['/counter']);
    const switchesBefore = await switches();
    const calls = new Map<string, number>();
    const seen: Array<[string, number, number]> = [];
    for (const tenant of pattern) {
      const { status, body } = await run(fixture, { hash, path: '/counter', tenant });
      expect(status).toBe(200);
      calls.set(tenant, (calls.get(tenant) ?? 0) + 1);
      seen.push([tenant, body.counter, calls.get(tenant)!]);
    }
    expect(seen.slice(0, 5).map(([, counter]) => counter)).toEqual([2, 2, 2, 2, 2]);
    expect(seen.filter(([, counter, own]) => counter > own + 1 || counter < 2)).toEqual([]);
    expect(seen.slice(8, 11).map(([tenant, counter]) => [tenant, counter])).toEqual([['t-3', seen[8][1]], ['t-3', seen[8][1] + 1], ['t-3', seen[8][1] + 2]]);
    expect(await switches()).toBeGreaterThan(switchesBefore);
  });

  it('a warm-up that writes to stdout is kept too: every instance holds its own stdout, and each tenant\'s output is captured after a switch', async () => {
    // The warm-up's console.log leaves the WASI adapter's stdout handle in linear memory; each
    // instance's own warm-up made that handle in its own tables before the start state went in.
    const hash = fixture.publishWarmingUpOn(guestDir('misbehave'), ['/counter', '/stdout']);
    const switchesBefore = await switches();
    const first = new Map<string, number>();
    for (const [index, tenant] of pattern.entries()) {
      const counted = await run(fixture, { hash, path: '/counter', tenant });
      expect(counted.status).toBe(200);
      if (!first.has(tenant)) first.set(tenant, counted.body.counter);
      const requestId = `stdout-${index}`;
      const printed = await run(fixture, { hash, path: '/stdout', tenant, requestId });
      expect(printed.status).toBe(200);
      const response = await fetch(`${fixture.url}/v1/debug/events?tenant=${tenant}`, { headers: { authorization: `Bearer ${fixture.token}` } });
      const { events } = (await response.json()) as { events: Array<{ stream: string; message: string; request: string }> };
      expect(events.filter((event) => event.request === requestId && event.stream === 'stdout').map((event) => event.message).join('')).toContain('hello on stdout');
    }
    expect([...first.values()]).toEqual([2, 2, 2, 2, 2]);
    expect(await switches()).toBeGreaterThan(switchesBefore);
  });
});
