import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { packedExample, sign, signingFixture } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';

/**
 * examples/kv-counter through the real host gateway and a runner child with 2 workers: atomic
 * increments, compare-and-set, and what uninstalling does to the extension's storage.
 */
const extensionId = 'com.example.kv-counter';

let dir: ReturnType<typeof tempDir>;
let running: RunningHost;
let publisherToken: string;

interface Answer {
  status: number;
  body: any;
}

async function call(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  const response = await fetch(`${running.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

/** A call the way a careful client makes it: a 429 (not run) is retried after Retry-After. */
async function callUntilAdmitted(token: string, method: string, path: string, body?: unknown): Promise<Answer> {
  for (;;) {
    const answer = await call(token, method, path, body);
    if (answer.status !== 429) return answer;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `count` calls with at most `parallel` in flight at once. */
async function inParallel<T>(count: number, parallel: number, run: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await run(index);
      }
    }),
  );
  return results;
}

async function newTenant(id: string): Promise<string> {
  running.host.auth.createTenant({ id, name: id });
  return running.host.auth.createToken({ kind: 'tenant', tenantId: id }).token;
}

async function install(token: string): Promise<void> {
  const installed = await call(token, 'POST', '/api/installs', { extensionId, version: '1.0.0', grants: ['alga.storage'] });
  expect(installed.status, JSON.stringify(installed.body)).toBe(201);
}

/** The first call loads and compiles the component in the runner. */
async function firstCount(token: string): Promise<number> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const answer = await call(token, 'GET', `/api/ext/${extensionId}/count`);
    if (answer.status === 200) return answer.body.count;
    if (Date.now() > deadline) throw new Error(`kv-counter never answered: ${answer.status} ${JSON.stringify(answer.body)}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

beforeAll(async () => {
  dir = tempDir('alga-kv-e2e-');
  const fixture = signingFixture('example');
  running = await startHost({
    dataDir: dir.path,
    port: 0,
    plugins: [extensionsPlugin],
    logLevel: 'silent',
    env: { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, RUNNER_WORKERS: '2', RUNNER_LOG_LEVEL: 'warn' },
  });
  publisherToken = running.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  const bundle = packedExample('kv-counter');
  const published = await call(publisherToken, 'POST', '/api/registry/bundles', { bundle_b64: Buffer.from(bundle.bytes).toString('base64'), signatures: sign(bundle.bytes, fixture.key) });
  expect(published.status, JSON.stringify(published.body)).toBe(201);
}, 180_000);

afterAll(async () => {
  await running?.close();
  dir?.remove();
});

describe('kv-counter through the gateway: storage that concurrent requests cannot corrupt', () => {
  it('200 increments in parallel on 2 workers add exactly 200, each count handed out once', async () => {
    const token = await newTenant('tenant-increments');
    await install(token);
    expect(await firstCount(token)).toBe(0);
    const answers = await inParallel(200, 24, () => callUntilAdmitted(token, 'POST', `/api/ext/${extensionId}/increment`));
    const acknowledged = answers.filter((answer) => answer.status === 200);
    // Every acknowledged increment is in the count, and no two were handed the same value.
    expect((await call(token, 'GET', `/api/ext/${extensionId}/count`)).body.count).toBe(acknowledged.length);
    expect(new Set(acknowledged.map((answer) => answer.body.count)).size).toBe(acknowledged.length);
    expect(answers.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(acknowledged.map((answer) => answer.body.count as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
  }, 120_000);

  it('sets the count by compare-and-set: of 20 writers holding the same version exactly one wins', async () => {
    const token = await newTenant('tenant-cas');
    await install(token);
    await firstCount(token);
    const path = `/api/ext/${extensionId}/count`;
    // Never set: only a writer expecting "absent" (version null) may create it.
    const created = await call(token, 'PUT', path, { count: 5, version: null });
    expect(created.status).toBe(200);
    expect((await call(token, 'PUT', path, { count: 6, version: null })).status).toBe(409);
    const read = (await call(token, 'GET', path)).body;
    expect(read).toEqual({ count: 5, version: created.body.version });

    const writers = await inParallel(20, 20, (index) => callUntilAdmitted(token, 'PUT', path, { count: 100 + index, version: read.version }));
    const winners = writers.filter((answer) => answer.status === 200);
    expect(winners).toHaveLength(1);
    expect(writers.filter((answer) => answer.status === 409)).toHaveLength(19);
    const after = (await call(token, 'GET', path)).body;
    expect(after).toEqual({ count: winners[0].body.count, version: winners[0].body.version });
    // A loser is told what the count is now, so it can decide again.
    expect(writers.find((answer) => answer.status === 409)!.body).toMatchObject({ count: after.count, version: after.version });
    // Increments (also by a negative step) move the version on, so a stale version loses to them too.
    expect((await call(token, 'POST', `/api/ext/${extensionId}/increment?by=-150`)).body).toEqual({ count: after.count - 150 });
    expect((await call(token, 'PUT', path, { count: 0, version: after.version })).status).toBe(409);
  }, 120_000);

  it('resets in a transaction while increments run: every increment is either in a reset\'s previous count or in the final count', async () => {
    const token = await newTenant('tenant-reset');
    await install(token);
    await firstCount(token);
    const base = `/api/ext/${extensionId}`;
    const answers = await inParallel(110, 16, (index) => callUntilAdmitted(token, 'POST', index % 11 === 5 ? `${base}/reset` : `${base}/increment`));
    const increments = answers.filter((_answer, index) => index % 11 !== 5);
    const resets = answers.filter((_answer, index) => index % 11 === 5 && _answer.status === 200);
    expect(increments.filter((answer) => answer.status !== 200)).toEqual([]);
    expect(resets.length).toBeGreaterThan(0);
    const final = (await call(token, 'GET', `${base}/count`)).body.count;
    expect(resets.reduce((sum, answer) => sum + answer.body.previous, 0) + final).toBe(increments.length);
    expect(resets.map((answer) => answer.body.resets).sort((a, b) => a - b)).toEqual(Array.from({ length: resets.length }, (_, index) => index + 1));
  }, 120_000);
});

describe('uninstall and the extension storage', () => {
  it('keeps the storage on a plain uninstall (a reinstall sees it), deletes it with ?purge=storage, and leaves other tenants alone', async () => {
    const token = await newTenant('tenant-purge');
    const neighbour = await newTenant('tenant-neighbour');
    for (const tenant of [token, neighbour]) {
      await install(tenant);
      await firstCount(tenant);
      for (let index = 0; index < 3; index++) expect((await call(tenant, 'POST', `/api/ext/${extensionId}/increment`)).status).toBe(200);
    }

    expect((await call(token, 'DELETE', `/api/installs/${extensionId}?purge=everything`)).body.error.code).toBe('E_REQUEST_INVALID');
    expect((await call(token, 'GET', `/api/installs/${extensionId}`)).status).toBe(200);

    const kept = await call(token, 'DELETE', `/api/installs/${extensionId}`);
    expect(kept.body).toEqual({ uninstalled: true, extensionId, storage: 'kept' });
    await install(token);
    expect(await firstCount(token)).toBe(3);

    const purged = await call(token, 'DELETE', `/api/installs/${extensionId}?purge=storage`);
    expect(purged.body).toEqual({ uninstalled: true, extensionId, storage: 'purged', purgedKeys: 1 });
    expect((await call(token, 'GET', `/api/installs/${extensionId}`)).status).toBe(404);
    await install(token);
    expect(await firstCount(token)).toBe(0);
    expect((await call(neighbour, 'GET', `/api/ext/${extensionId}/count`)).body.count).toBe(3);

    // Storage left behind by a plain uninstall can be deleted later on its own.
    await call(token, 'POST', `/api/ext/${extensionId}/increment`);
    await call(token, 'DELETE', `/api/installs/${extensionId}`);
    expect((await call(token, 'DELETE', `/api/installs/${extensionId}/storage`)).body).toEqual({ extensionId, storage: 'purged', purgedKeys: 1 });
    await install(token);
    expect(await firstCount(token)).toBe(0);

    const audit = running.host.audit.list({ tenantId: 'tenant-purge', action: 'install.storage_purged' });
    expect(audit.map((entry) => [entry.outcome, entry.detail])).toEqual([['ok', { keys: 1 }], ['ok', { keys: 1 }]]);
  }, 180_000);
});
