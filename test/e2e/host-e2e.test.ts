import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { openStore } from '../../host/core/store.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { generateSigningKey } from '../../lib/signing/index.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { packedExample, repackedExample, sign, signingFixture } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';
import { repoRoot } from '../support/projects.ts';

const run = promisify(execFile);

/** Creates tenants and tokens in the data folder before the host starts (an operator with file access). */
async function bootstrap(dataDir: string) {
  ensureInfraSecrets(dataDir, { profile: 'appliance' });
  const store = openStore(dataDir);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
  auth.createTenant({ id: 'tenant-b', name: 'Tenant B' });
  const tokens = {
    publisher: auth.createToken({ kind: 'publisher', publisher: 'example' }).token,
    tenantA: auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token,
    tenantB: auth.createToken({ kind: 'tenant', tenantId: 'tenant-b' }).token,
  };
  await store.close();
  return tokens;
}

describe('host + runner as real processes', () => {
  const dir = tempDir('alga-e2e-');
  const dataDir = join(dir.path, 'data');
  const fixture = signingFixture('example');
  const trustPath = join(dir.path, 'trust.json');
  const bundlePath = join(dir.path, 'hello.algabundle');
  const hello = packedExample('hello');
  let host: HostProcess;
  let tokens: Awaited<ReturnType<typeof bootstrap>>;
  const env = () => ({ SIGNING_TRUST_BUNDLE: trustPath, EXT_GATEWAY_TIMEOUT_MS: '8000' });
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  const call = (token: string, path = '/hello', headers: Record<string, string> = {}) =>
    fetch(`${host.url}/api/ext/com.example.hello${path}`, { headers: { ...auth(token), ...headers } });
  const storedBundles = () => (existsSync(join(dataDir, 'bundles', 'sha256')) ? readdirSync(join(dataDir, 'bundles', 'sha256')).sort() : []);

  beforeAll(async () => {
    writeFileSync(trustPath, fixture.trustBundleJson);
    writeFileSync(bundlePath, hello.bytes);
    writeFileSync(`${bundlePath}.sig.json`, JSON.stringify(sign(hello.bytes, fixture.key)));
    tokens = await bootstrap(dataDir);
    host = await startHostProcess({ dataDir, env: env() });
  });

  afterAll(async () => {
    await host?.stop();
    dir.remove();
  });

  it('refuses unsigned, tampered and untrusted uploads and stores nothing', async () => {
    const upload = (bytes: Uint8Array, signatureFile: unknown) => uploadBundle({ registryUrl: host.url, token: tokens.publisher, bytes, signatureFile });
    const unsigned = await upload(hello.bytes, { version: 1, contentHash: hello.hash, signatures: [] });
    expect(unsigned.body.error?.code).toBe('E_SIGNATURE_MISSING');
    const tampered = Buffer.from(hello.bytes);
    tampered[100] ^= 1;
    expect((await upload(tampered, sign(hello.bytes, fixture.key))).body.error?.code).toBe('E_BUNDLE_HASH_MISMATCH');
    expect((await upload(hello.bytes, sign(hello.bytes, generateSigningKey()))).body.error?.code).toBe('E_SIGNATURE_UNTRUSTED_KEY');
    expect(storedBundles()).toEqual([]);
    const listed = await fetch(`${host.url}/api/registry/extensions`, { headers: auth(tokens.publisher) });
    expect((await listed.json()).extensions).toEqual([]);
  });

  it('publishes the signed example with `alga-ext publish`', async () => {
    const { stdout } = await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'publish', bundlePath, '--registry', host.url, '--token', tokens.publisher], { cwd: repoRoot });
    expect(stdout.trim()).toBe(`published com.example.hello@1.0.0 ${hello.hash}`);
    expect(storedBundles()).toEqual([`${hello.hash.slice(7)}.algabundle`, `${hello.hash.slice(7)}.sig.json`]);

    const otherPath = join(dir.path, 'hello-other.algabundle');
    const other = repackedExample('hello', (manifest) => ({ ...manifest, description: 'same version, other bytes' }));
    writeFileSync(otherPath, other);
    writeFileSync(`${otherPath}.sig.json`, JSON.stringify(sign(other, fixture.key)));
    const refused = await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'publish', otherPath, '--registry', host.url, '--token', tokens.publisher], { cwd: repoRoot }).catch((error) => error);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error E_REGISTRY_VERSION_CONFLICT: This extension version is already published with different content/m);
    expect(storedBundles()).toHaveLength(2);
  });

  it('installs for tenant A and calls it through the gateway; tenant B gets 404', async () => {
    const beyond = await fetch(`${host.url}/api/installs`, {
      method: 'POST', headers: { ...auth(tokens.tenantA), 'content-type': 'application/json' },
      body: JSON.stringify({ extensionId: 'com.example.hello', grants: ['alga.http'] }),
    });
    expect(beyond.status).toBe(400);
    expect((await beyond.json()).error.code).toBe('E_INSTALL_GRANT_INVALID');

    const installed = await fetch(`${host.url}/api/installs`, {
      method: 'POST', headers: { ...auth(tokens.tenantA), 'content-type': 'application/json' },
      body: JSON.stringify({ extensionId: 'com.example.hello', version: '1.0.0', config: { greeting_name: 'Ada' } }),
    });
    expect(installed.status).toBe(201);

    const answer = await call(tokens.tenantA, '/hello', { cookie: 'alga_session=stolen', 'x-tenant-id': 'tenant-b' });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ message: 'Hello, Ada', tenant: 'tenant-a' });
    expect(answer.headers.get('set-cookie')).toBeNull();

    const other = await call(tokens.tenantB);
    expect(other.status).toBe(404);
    expect((await other.json()).error.code).toBe('E_EXT_NOT_FOUND');
    expect((await call(tokens.tenantA, '/undeclared')).status).toBe(404);
  });

  it('answers 502 with a request id when the runner dies, and succeeds again once it is restarted', async () => {
    const pidFile = join(dataDir, 'run', 'runner.pid');
    const firstPid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(firstPid, 'SIGKILL');
    const down = await call(tokens.tenantA);
    expect(down.status).toBe(502); // not 504: answered without waiting for the gateway deadline
    const body = await down.json();
    expect(body.error.code).toBe('E_RUNNER_UNAVAILABLE');
    expect(body.request_id).toBe(down.headers.get('x-request-id'));

    let recovered: Response | undefined;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline; ) {
      const attempt = await call(tokens.tenantA);
      if (attempt.status === 200) {
        recovered = attempt;
        break;
      }
      expect(attempt.status).toBe(502);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(recovered?.status).toBe(200);
    expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(firstPid);
    const ready = await fetch(`${host.url}/readyz`);
    expect(ready.status).toBe(200);
  });

  it('kills and restarts a runner that stops answering (SIGSTOP); meanwhile calls fail fast with 502', async () => {
    const pidFile = join(dataDir, 'run', 'runner.pid');
    const frozenPid = Number(readFileSync(pidFile, 'utf8'));
    process.kill(frozenPid, 'SIGSTOP');
    try {
      let sawFastFailure = false;
      let recovered = false;
      for (const deadline = Date.now() + 60_000; Date.now() < deadline && !recovered; await new Promise((resolve) => setTimeout(resolve, 500))) {
        const started = Date.now();
        const answer = await call(tokens.tenantA);
        if (answer.status === 200) recovered = true;
        else {
          expect([502, 504]).toContain(answer.status);
          if (answer.status === 502 && Date.now() - started < 4000) sawFastFailure = true; // half the gateway deadline
        }
      }
      expect(sawFastFailure).toBe(true);
      expect(recovered).toBe(true);
      expect(Number(readFileSync(pidFile, 'utf8'))).not.toBe(frozenPid);
      expect(() => process.kill(frozenPid, 0)).toThrow();
    } finally {
      try {
        process.kill(frozenPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('keeps installs and the registry across a host restart, and stops its runner on SIGTERM', async () => {
    const runnerPid = Number(readFileSync(join(dataDir, 'run', 'runner.pid'), 'utf8'));
    expect(await host.stop()).toBe(0);
    expect(() => process.kill(runnerPid, 0)).toThrow();
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]); // no pid file, no copy of the runner's keys
    host = await startHostProcess({ dataDir, env: env() });
    const detail = await fetch(`${host.url}/api/registry/extensions/com.example.hello`, { headers: auth(tokens.tenantA) });
    expect((await detail.json()).extension.latestVersion).toBe('1.0.0');
    const answer = await call(tokens.tenantA);
    expect(answer.status).toBe(200);
    expect(await answer.json()).toEqual({ message: 'Hello, Ada', tenant: 'tenant-a' });
  });

  it('uninstall makes the gateway answer 404; the execution log shows the calls', async () => {
    const log = await fetch(`${host.url}/api/installs/com.example.hello/executions?limit=50`, { headers: auth(tokens.tenantA) });
    const executions = (await log.json()).executions as { status: number; error?: string }[];
    expect(executions.some((row) => row.status === 200)).toBe(true);
    expect(executions.some((row) => row.status === 502 && row.error === 'E_RUNNER_UNAVAILABLE')).toBe(true);
    const removed = await fetch(`${host.url}/api/installs/com.example.hello`, { method: 'DELETE', headers: auth(tokens.tenantA) });
    expect(removed.status).toBe(200);
    expect((await call(tokens.tenantA)).status).toBe(404);
  });
});
