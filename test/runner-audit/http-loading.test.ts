// Audit of issue 3 (the runner): requirements that had no test, and gaps found in review.
// Tests named "AUDIT GAP: …" fail on purpose while the gap is open.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBundle, storeSignatureFile, storedBundlePath } from '../../lib/bundle/index.ts';
import { createRunner } from '../../runner/index.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, packOnce, signatureFor, startFixture, type RunnerFixture } from '../runner/support.ts';
import { existsSync } from 'node:fs';

describe('runner audit: /v1/execute, isolation and metrics', () => {
  let fixture: RunnerFixture;
  let hash: string;

  beforeAll(async () => {
    fixture = await startFixture({ recycleAfterRequests: 3 });
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('checks the service token before reading the body (an unauthenticated caller gets 401, not a parse)', async () => {
    const response = await fetch(`${fixture.url}/v1/execute`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"not json' });
    expect(response.status).toBe(401);
  });

  it('discards the instance after a guest throw: the next request sees fresh state', async () => {
    const counter = async () => guestJson((await fixture.execute(executeBody({ hash, path: '/counter', tenant: 'tenant-discard' }))).json).counter;
    expect(await counter()).toBe(1);
    expect(await counter()).toBe(2);
    expect((await fixture.execute(executeBody({ hash, path: '/throw', tenant: 'tenant-discard' }))).status).toBe(500);
    expect(await counter()).toBe(1);
  });

  it('recycles a tenant instance after N requests (recycleAfterRequests)', async () => {
    const counters: number[] = [];
    for (let index = 0; index < 5; index++) counters.push(guestJson((await fixture.execute(executeBody({ hash, path: '/counter', tenant: 'tenant-recycle' }))).json).counter);
    expect(counters).toEqual([1, 2, 3, 1, 2]);
  });

  it('replaces the worker after a deadline and counts it', async () => {
    const before = await fixture.runner.registry.getSingleMetricAsString('runner_worker_replacements_total');
    const count = (text: string) => Number(/runner_worker_replacements_total (\d+)/.exec(text)?.[1] ?? 0);
    expect((await fixture.execute(executeBody({ hash, path: '/loop', limits: { timeout_ms: 300 } }))).status).toBe(504);
    const after = await fixture.runner.registry.getSingleMetricAsString('runner_worker_replacements_total');
    expect(count(after)).toBe(count(before) + 1);
  });

  it('never puts a tenant id or a request id into /metrics labels', async () => {
    const tenant = 'tenant-zq9metricsprobe';
    const requestId = 'req-zq9metricsprobe';
    await fixture.execute(executeBody({ hash, path: '/log', tenant, requestId, providers: ['alga.log', 'alga.metrics'] }));
    await fixture.execute(executeBody({ hash, path: '/storage/get', query: 'key=a', tenant, requestId: `${requestId}-2` }));
    await fixture.execute(executeBody({ hash, path: '/throw', tenant, requestId: `${requestId}-3` }));
    const metrics = await (await fetch(`${fixture.url}/metrics`)).text();
    expect(metrics).toContain('runner_executions_total');
    expect(metrics).not.toContain('zq9metricsprobe');
  });
});

describe('runner audit: loading from the registry', () => {
  let servers: Server[] = [];
  const listen = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<string>((resolve) => {
      const server = createServer(handler);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    });
  afterAll(() => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    servers = [];
  });

  it('refuses a registry download that fails verification and does not store it', async () => {
    const bundle = packOnce(guestDir('misbehave'));
    const tampered = Buffer.from(bundle.bytes);
    tampered[tampered.length - 2000] ^= 0xff;
    let trustedKey: Parameters<typeof signatureFor>[1] | undefined;
    const registryUrl = await listen((request, response) => {
      if (request.url?.endsWith('/blob')) return response.end(tampered);
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(signatureFor(bundle.hash, trustedKey!)));
    });
    const remote = await startFixture({ registryUrl });
    try {
      trustedKey = remote.signingKeys.test;
      const { status, json } = await remote.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
      expect(status).toBe(422);
      expect(json.error.message).toContain('E_BUNDLE_HASH_MISMATCH');
      expect(existsSync(storedBundlePath(remote.bundleDir, bundle.hash))).toBe(false);
    } finally {
      await remote.close();
    }
  });

  it('AUDIT GAP: gives up on a registry that never answers instead of hanging the execution', async () => {
    const registryUrl = await listen(() => {
      /* accepts the request and never answers */
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-audit-'));
    const runner = createRunner({ dataDir, registryUrl, serviceToken: 't', trustBundle: { version: 1, keys: [] }, workers: 1 });
    try {
      const outcome = await Promise.race([
        runner.execute(executeBody({ hash: `sha256:${'a'.repeat(64)}`, path: '/hello' })).then((result) => (result.ok ? 'ok' : result.error.code)),
        new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
      ]);
      expect(outcome).not.toBe('still waiting after 10 s');
    } finally {
      await runner.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 30_000);

  it('compiles once per hash and memory cap, then reuses the compiled modules', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-audit-'));
    try {
      const bundle = packOnce(guestDir('misbehave'));
      const fixtureForKeys = await startFixture();
      try {
        storeBundle(join(dataDir, 'bundles'), bundle.bytes, bundle.hash);
        storeSignatureFile(join(dataDir, 'bundles'), bundle.hash, signatureFor(bundle.hash, fixtureForKeys.signingKeys.test));
        const runner = createRunner({ dataDir, trustBundle: fixtureForKeys.trust, workers: 1 });
        try {
          const first = await runner.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
          expect(first.ok).toBe(true);
          await runner.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
          const cache = await runner.registry.getSingleMetricAsString('runner_cache_events_total');
          expect(cache).toContain('runner_cache_events_total{cache="compiled",result="miss"} 1');
          expect(cache).toMatch(/runner_cache_events_total\{cache="compiled",result="hit"\} [1-9]/);
        } finally {
          await runner.close();
        }
      } finally {
        await fixtureForKeys.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
