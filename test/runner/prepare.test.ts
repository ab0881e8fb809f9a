import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../runner/index.ts';
import { exampleDir, guestDir } from '../support/projects.ts';
import { executeBody, startFixture, type RunnerFixture } from './support.ts';

/** Counters from a runner's registry: cache lookups by cache and result, and instances created. */
async function counters(runner: Runner): Promise<Record<string, number>> {
  const text = await runner.registry.metrics();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    transpileMiss: value(/^runner_cache_events_total\{cache="transpile",result="miss"\} (\d+)/m),
    compiledMiss: value(/^runner_cache_events_total\{cache="compiled",result="miss"\} (\d+)/m),
    instantiations: value(/^runner_guest_instantiations_total (\d+)/m),
  };
}

async function prepare(fixture: RunnerFixture, body: unknown, token = fixture.token) {
  const response = await fetch(`${fixture.url}/v1/prepare`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as any };
}

describe('runner: POST /v1/prepare readies a version before its first request (#11)', () => {
  let fixture: RunnerFixture;
  let hello: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1 });
    hello = fixture.publish(exampleDir('hello'));
  });
  afterAll(() => fixture?.close());

  it('refuses a missing token, a malformed body and an unknown hash with catalog errors', async () => {
    expect((await prepare(fixture, { content_hash: hello }, 'wrong')).json.error.code).toBe('E_RUNNER_UNAUTHORIZED');
    for (const body of [{}, { content_hash: 'sha256:abc' }, { content_hash: hello, limits: { memory_mb: 'big' } }, { content_hash: hello, limits: { memory_mb: 1.5 } }]) {
      const { status, json } = await prepare(fixture, body);
      expect([status, json.error.code]).toEqual([400, 'E_RUNNER_BAD_REQUEST']);
    }
    const unknown = await prepare(fixture, { content_hash: `sha256:${'0'.repeat(64)}` });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, 'E_RUNNER_BUNDLE_NOT_FOUND']);
  });

  it('after a prepare, the first call compiles nothing and instantiates nothing: it takes the prepared instance', async () => {
    const { status, json } = await prepare(fixture, { content_hash: hello, limits: { memory_mb: 96 } });
    expect([status, json.content_hash, json.memory_mb]).toEqual([200, hello, 96]);
    const before = await counters(fixture.runner);
    expect(before.compiledMiss).toBe(1);
    const call = await fixture.execute(executeBody({ hash: hello, path: '/hello', tenant: 'tenant-first', limits: { memory_mb: 96 } }));
    expect(call.status).toBe(200);
    const after = await counters(fixture.runner);
    expect(after).toEqual({ ...before, instantiations: 1 }); // the one the prepare made, in the worker the call went to
  });
});

describe('runner: a restarted runner prepares again what it was asked to prepare', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-prepare-'));
  let fixture: RunnerFixture;
  let hello: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1 });
    hello = fixture.publish(exampleDir('hello'));
  });
  afterAll(async () => {
    await fixture?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prepares remembered versions at start from the transpile cache on disk, so the first call compiles nothing', async () => {
    const config = { dataDir, bundleDir: fixture.bundleDir, trustBundle: fixture.trust, workers: 1 };
    const first = createRunner(config);
    await first.prepare(hello, 80);
    await first.close();

    const second = createRunner(config);
    try {
      const [prepared] = (await once(second, 'prepared')) as [{ content_hash: string; memory_mb: number }];
      expect(prepared).toMatchObject({ content_hash: hello, memory_mb: 80 });
      const before = await counters(second);
      expect(before).toMatchObject({ transpileMiss: 0, compiledMiss: 1 }); // transpiled by the first runner, compiled by this one at start
      const result = await second.execute(executeBody({ hash: hello, path: '/hello', tenant: 'tenant-restart', limits: { memory_mb: 80 } }));
      expect(result.ok).toBe(true);
      expect(await counters(second)).toEqual({ ...before, instantiations: 1 });
    } finally {
      await second.close();
    }
  });
});

describe('runner: a version whose warm-up never ends does not wedge a worker', () => {
  let fixture: RunnerFixture;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1, reserveWorkers: 0, instantiateTimeoutMs: 1500 });
  });
  afterAll(() => fixture?.close());

  it('answers the prepare once the stuck worker is replaced, and the next calls are served', async () => {
    // test/guests/misbehave with `GET /loop` as its first endpoint: the prepared instance's warm-up calls it.
    const hash = fixture.publishWarmingUpOn(guestDir('misbehave'), ['/loop']);
    const { status } = await prepare(fixture, { content_hash: hash });
    expect(status).toBe(200);
    expect(await fixture.runner.registry.getSingleMetricAsString('runner_worker_replacements_total')).toMatch(/runner_worker_replacements_total 1$/m);
    for (const tenant of ['tenant-x', 'tenant-y']) expect((await fixture.execute(executeBody({ hash, path: '/hello', tenant }))).status).toBe(200);
  });

  it('`request` policy, not prepared: the first call cannot be made ready in time, and every call after it is served', async () => {
    // Each `request` instance is warmed up before its first call; this version's warm-up calls `GET /loop`.
    const hash = fixture.publishWarmingUpOn(guestDir('misbehave'), ['/loop', '/counter']);
    const first = await fixture.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-r', isolation: 'request' }));
    expect(first.status).toBe(503);
    expect(first.json.error.code).toBe('E_RUNNER_START_TIMEOUT');
    for (const tenant of ['tenant-r', 'tenant-s', 'tenant-r']) expect((await fixture.execute(executeBody({ hash, path: '/hello', tenant, isolation: 'request' }))).status).toBe(200);
  });
});
