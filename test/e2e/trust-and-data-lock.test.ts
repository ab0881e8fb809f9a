import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { openStore } from '../../host/core/store.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { algaHost } from '../host/alga-host-cli.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { packedExample, repackedExample, sign, signingFixture } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';

/**
 * An operator's day with a real host and runner: `alga-host trust add` and `trust remove` apply to
 * the running host and runner without a restart, a second host on the same data folder is refused
 * (and leaves the first one's runner alone), and a host killed with -9 starts again.
 */
async function bootstrap(dataDir: string) {
  ensureInfraSecrets(dataDir, { profile: 'appliance' });
  const store = openStore(dataDir);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
  const tokens = { publisher: auth.createToken({ kind: 'publisher', publisher: 'example' }).token, tenant: auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token };
  await store.close();
  return tokens;
}

async function until<T>(probe: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('trust changes without a restart, and one host per data folder', () => {
  const dir = tempDir('alga-trust-lock-');
  const dataDir = join(dir.path, 'data');
  const fixture = signingFixture('example');
  const hello = packedExample('hello');
  const env = { SIGNING_TRUST_BUNDLE: '' };
  let host: HostProcess;
  let tokens: Awaited<ReturnType<typeof bootstrap>>;
  const publish = (bytes: Uint8Array) => uploadBundle({ registryUrl: host.url, token: tokens.publisher, bytes, signatureFile: sign(bytes, fixture.key) });
  const callHello = async () => {
    const answer = await fetch(`${host.url}/api/ext/com.example.hello/hello`, { headers: { authorization: `Bearer ${tokens.tenant}` } });
    return { status: answer.status, body: (await answer.json()) as { error?: { code: string } } };
  };

  beforeAll(async () => {
    tokens = await bootstrap(dataDir);
    host = await startHostProcess({ dataDir, env });
  });
  afterAll(async () => {
    await host?.stop();
    dir.remove();
  });

  it('publishing needs a trust bundle, and `alga-host trust add` supplies one to the running host', async () => {
    const refused = await publish(hello.bytes);
    expect(refused.status).toBe(503);
    expect(refused.body.error?.code).toBe('E_TRUST_BUNDLE_MISSING');
    expect(refused.body.error?.message).toContain('without a restart');

    const added = await algaHost(['trust', 'add', '--data', dataDir, '--publisher', 'example', '--public-key', fixture.key.publicKey]);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('no restart needed');
    const published = await publish(hello.bytes);
    expect(published.body.error).toBeUndefined();
    expect(published.body.contentHash).toBe(hello.hash);

    const installed = await fetch(`${host.url}/api/installs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.tenant}`, 'content-type': 'application/json' },
      body: JSON.stringify({ extensionId: 'com.example.hello', config: { greeting_name: 'Ada' } }),
    });
    expect(installed.status).toBe(201);
    expect(await callHello()).toEqual({ status: 200, body: { message: 'Hello, Ada', tenant: 'tenant-a' } });
  });

  it('refuses a second host on the same data folder, which leaves the first host and its runner alone', async () => {
    const pidFile = join(dataDir, 'run', 'runner.pid');
    const runnerPid = readFileSync(pidFile, 'utf8');
    const second = await algaHost(['start', '--data', dataDir, '--port', String(await freePort())], { env });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/^error E_HOST_DATA_IN_USE: Another host is running on this data folder; .*host\.lock is held by process \d+/);
    expect(readFileSync(pidFile, 'utf8')).toBe(runnerPid);
    expect((await callHello()).status).toBe(200);
  });

  it('`alga-host trust remove` stops the running runner from running bundles signed by that key', async () => {
    const removed = await algaHost(['trust', 'remove', '--data', dataDir, '--key-id', fixture.key.keyId]);
    expect(removed.code, removed.stderr).toBe(0);
    const refused = await until(callHello, (answer) => answer.status !== 200);
    expect(refused.status).toBe(422);
    expect(refused.body.error?.code).toBe('E_RUNNER_VERIFICATION_FAILED');
    const another = repackedExample('hello', (manifest) => ({ ...manifest, version: '1.0.1' }));
    expect((await publish(another)).body.error?.code).toBe('E_SIGNATURE_UNTRUSTED_KEY');
  });

  it('starts again on the data folder of a host killed with -9 (its lock is stale)', async () => {
    host.child.kill('SIGKILL');
    await host.stop();
    expect(existsSync(join(dataDir, 'host.lock'))).toBe(true);
    host = await startHostProcess({ dataDir, env });
    expect((await fetch(`${host.url}/readyz`)).status).toBe(200);
  });
});
