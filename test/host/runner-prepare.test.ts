import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { bundleDirOf } from '../../host/core/start.ts';
import { startRunnerServer, type RunningRunnerServer } from '../../runner/index.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { packedExample, sign, signingFixture } from './signed-bundles.ts';
import { tempDir } from './temp-dir.ts';

type Prepared = { content_hash: string; memory_mb: number };

/** Resolves when the runner has prepared `hash` with `memoryMb`. */
function preparedOnce(server: RunningRunnerServer, hash: string, memoryMb: number): Promise<void> {
  return new Promise((resolve) => {
    const listener = (prepared: Prepared) => {
      if (prepared.content_hash !== hash || prepared.memory_mb !== memoryMb) return;
      server.runner.off('prepared', listener);
      resolve();
    };
    server.runner.on('prepared', listener);
  });
}

async function counters(server: RunningRunnerServer): Promise<Record<string, number>> {
  const text = await server.runner.registry.metrics();
  const value = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
  return {
    transpileMiss: value(/^runner_cache_events_total\{cache="transpile",result="miss"\} (\d+)/m),
    compiledMiss: value(/^runner_cache_events_total\{cache="compiled",result="miss"\} (\d+)/m),
    instantiations: value(/^runner_guest_instantiations_total (\d+)/m),
  };
}

describe('the host asks its runner to prepare versions: the first call after install finds its code ready (#11)', () => {
  const fixture = signingFixture('example');
  const hello = packedExample('hello');
  const dir = tempDir();
  let runner: RunningRunnerServer;
  let h: InProcessHost;

  beforeAll(async () => {
    const secrets = ensureInfraSecrets(dir.path, { profile: 'appliance' });
    runner = await startRunnerServer({
      dataDir: join(dir.path, 'runner'),
      bundleDir: bundleDirOf(dir.path),
      serviceToken: secrets.runnerServiceToken,
      secretKey: secrets.runnerKeyPair.secretKey,
      trustBundle: fixture.trustBundleJson,
      workers: 1,
    });
    h = await inProcessHost({ dataDir: dir.path, runnerUrl: runner.url, env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
  });
  afterAll(async () => {
    await h?.close();
    await runner?.close();
    dir.remove();
  });

  it('prepares on publish and on install; the first gateway call then transpiles, compiles and instantiates nothing', async () => {
    const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const published = preparedOnce(runner, hello.hash, 64);
    const answer = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(hello.bytes).toString('base64'), signatures: sign(hello.bytes, fixture.key) } });
    expect(answer.statusCode).toBe(201);
    await published; // transpiled and compiled with the manifest's memory cap right after the publish

    h.host.auth.createTenant({ id: 'tenant-new', name: 'New' });
    const token = h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-new' }).token;
    const installed = preparedOnce(runner, hello.hash, 48);
    const install = await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(token), payload: { extensionId: 'com.example.hello', config: { greeting_name: 'Ada' }, limits: { memoryMb: 48 } } });
    expect(install.statusCode).toBe(201);
    await installed; // compiled again with the install's own memory cap, and an instance made

    const before = await counters(runner);
    expect(before.transpileMiss).toBe(1);
    const call = await h.host.app.inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(token) });
    expect(call.statusCode).toBe(200);
    expect(call.json()).toEqual({ message: 'Hello, Ada', tenant: 'tenant-new' });
    expect(await counters(runner)).toEqual(before);
  });

  it('prepares every enabled install\'s version when a new runner answers at its address (a restart, here with nothing cached)', async () => {
    const port = Number(new URL(runner.url).port);
    const secrets = h.secrets;
    await runner.close();
    runner = await startRunnerServer({
      dataDir: join(dir.path, 'runner-2'),
      bundleDir: bundleDirOf(dir.path),
      serviceToken: secrets.runnerServiceToken,
      secretKey: secrets.runnerKeyPair.secretKey,
      trustBundle: fixture.trustBundleJson,
      workers: 1,
      port,
    });
    await preparedOnce(runner, hello.hash, 48);
    const before = await counters(runner);
    const token = h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-new' }).token;
    const call = await h.host.app.inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(token) });
    expect(call.statusCode).toBe(200);
    expect(await counters(runner)).toEqual(before);
  });
});
