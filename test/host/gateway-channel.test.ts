import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../host/core/runner/free-port.ts';
import { bundleDirOf } from '../../host/core/start.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { packProjectDir } from '../../lib/bundle/index.ts';
import { generateSigningKey, type TrustBundle } from '../../lib/signing/index.ts';
import { guestDir, repoRoot } from '../support/projects.ts';
import { startFixture, type RunnerFixture } from '../runner/support.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { sign } from './signed-bundles.ts';
import { tempDir } from './temp-dir.ts';

/**
 * The gateway and a real runner over the execute channel: what the runner prepares per install
 * revision follows every edit of the install, and a runner lost mid-call fails only those calls.
 */
const key = generateSigningKey();
const trustBundle: TrustBundle = { version: 1, keys: [{ keyId: key.keyId, publisher: 'test', publicKey: key.publicKey }] };
const misbehave = packProjectDir(guestDir('misbehave'));
const extension = misbehave.manifest.name;

async function hostWithMisbehave(runnerUrl: string, env: Record<string, string> = {}) {
  // The first call loads and compiles the component, which can take longer than the gateway's usual
  // 10 s on a loaded machine: these tests are about what follows it.
  const h = await inProcessHost({ runnerUrl, env: { SIGNING_TRUST_BUNDLE: JSON.stringify(trustBundle), EXT_GATEWAY_TIMEOUT_MS: '60000', ...env } });
  const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'test' }).token;
  const published = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(misbehave.bytes).toString('base64'), signatures: sign(misbehave.bytes, key) } });
  expect(published.statusCode).toBe(201);
  h.host.auth.createTenant({ id: 'tenant-a', name: 'A' });
  const tenant = h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;
  return { h, tenant };
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (await check()) return;
  }
  throw new Error(`timed out waiting for ${what}`);
}

const metric = async (runnerUrl: string, name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${runnerUrl}/metrics`)).text())?.[1]);

describe('gateway → runner over the channel: prepared installs follow the install', () => {
  let h: InProcessHost;
  let tenant: string;
  let runner: RunnerFixture;
  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const call = async (path: string) => {
    const answer = await inject({ method: 'GET', url: `/api/ext/${extension}${path}`, headers: bearer(tenant) });
    expect(answer.statusCode).toBe(200);
    return answer.json();
  };
  const patch = async (payload: Record<string, unknown>) => expect((await inject({ method: 'PATCH', url: `/api/installs/${extension}`, headers: bearer(tenant), payload })).statusCode).toBe(200);

  beforeAll(async () => {
    const port = await freePort();
    ({ h, tenant } = await hostWithMisbehave(`http://127.0.0.1:${port}`));
    runner = await startFixture({ port, serviceToken: h.secrets.runnerServiceToken, secretKey: h.secrets.runnerKeyPair.secretKey, trustBundle, bundleDir: bundleDirOf(h.dataDir) });
    await until(() => h.runner.isReady(), 'the runner');
    const installed = await inject({ method: 'POST', url: '/api/installs', headers: bearer(tenant), payload: { extensionId: extension, config: { greeting: 'one' }, grants: ['alga.secrets'], egress: [], secrets: { api_key: 'first' } } });
    expect(installed.statusCode).toBe(201);
  });
  afterAll(async () => {
    await h?.close();
    await runner?.close();
  });

  it('sees edited config, secrets and grants on the very next call', async () => {
    expect(await call('/config')).toEqual({ greeting: 'one' });
    expect(await call('/secret?name=api_key')).toEqual({ ok: true, value: 'first' });

    await patch({ config: { greeting: 'two' } });
    expect(await call('/config')).toEqual({ greeting: 'two' });
    await patch({ secrets: { api_key: 'second' } });
    expect(await call('/secret?name=api_key')).toEqual({ ok: true, value: 'second' });
    await patch({ grants: [] });
    expect(await call('/secret?name=api_key')).toMatchObject({ ok: false, error: 'denied' });
    await patch({ grants: ['alga.secrets'], config: { greeting: 'three' } });
    expect(await call('/config')).toEqual({ greeting: 'three' });
    expect(await call('/secret?name=api_key')).toEqual({ ok: true, value: 'second' });
    // One revision per install is kept: each edit replaced the one before.
    expect(runner.runner.preparedInstalls.size).toBe(1);
  });

  it('carries concurrent gateway calls on one kept-open connection', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, () => inject({ method: 'GET', url: `/api/ext/${extension}/hello`, headers: bearer(tenant) })));
    expect(answers.map((answer) => answer.statusCode)).toEqual(Array(20).fill(200));
    expect(await metric(runner.url, 'runner_channel_connections')).toBe(1);
  });
});

describe('gateway → runner over the channel: a runner lost mid-call', () => {
  const dir = tempDir('alga-channel-kill-');
  let h: InProcessHost;
  let tenant: string;
  let port: number;
  let child: ChildProcess | undefined;
  const startRunner = () => {
    child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-runner.js')], {
      env: {
        ...process.env, RUNNER_PORT: String(port), RUNNER_SERVICE_TOKEN: h.secrets.runnerServiceToken, RUNNER_SECRET_KEY: h.secrets.runnerKeyPair.secretKey,
        RUNNER_DATA_DIR: join(dir.path, 'runner'), RUNNER_BUNDLE_DIR: bundleDirOf(h.dataDir), SIGNING_TRUST_BUNDLE: JSON.stringify(trustBundle), RUNNER_WORKERS: '2',
      },
      stdio: 'ignore',
    });
  };
  const get = (path: string) => h.host.app.inject({ method: 'GET', url: `/api/ext/${extension}${path}`, headers: bearer(tenant) });

  beforeAll(async () => {
    port = await freePort();
    ({ h, tenant } = await hostWithMisbehave(`http://127.0.0.1:${port}`));
    startRunner();
    await until(() => h.runner.isReady(), 'the runner');
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tenant), payload: { extensionId: extension, grants: [], egress: [], limits: { timeoutMs: 20_000 } } })).statusCode).toBe(201);
  });
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await h?.close();
    dir.remove();
  });

  it('fails the calls in flight with 502 E_RUNNER_UNAVAILABLE, and the next call reconnects to the restarted runner', async () => {
    expect((await get('/hello')).statusCode).toBe(200);
    const runnerUrl = `http://127.0.0.1:${port}`;
    const inFlight = [get('/loop'), get('/loop'), get('/loop')];
    await until(async () => (await metric(runnerUrl, 'runner_executions_in_flight')) === 3, 'three calls in flight');
    child!.kill('SIGKILL');
    const failed = await Promise.all(inFlight);
    for (const answer of failed) {
      // 502, not the gateway's 504: the lost connection failed them, not their deadline.
      expect({ status: answer.statusCode, body: answer.json() }).toEqual({
        status: 502,
        body: { error: { code: 'E_RUNNER_UNAVAILABLE', message: new AlgaError('E_RUNNER_UNAVAILABLE').message }, request_id: answer.headers['x-request-id'] },
      });
    }

    startRunner();
    await until(() => h.runner.isReady(), 'the restarted runner');
    await until(async () => (await get('/hello')).statusCode === 200, 'a call through the new connection');
    expect(await metric(runnerUrl, 'runner_channel_connections')).toBe(1);
  });
});
