import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalog } from '../../lib/errors/index.ts';
import { openSecrets } from '../../lib/sealed-secrets.ts';
import type { SigningKey } from '../../lib/signing/index.ts';
import type { InstallRecord } from '../../host/plugins/extensions/installs/install-store.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { tempDir } from './temp-dir.ts';
import { packedExample, repackedExample, sign, signingFixture } from './signed-bundles.ts';

const hello = packedExample('hello');
const helloV2 = repackedExample('hello', (manifest) => ({ ...manifest, version: '1.1.0' }));

/** Publishes hello 1.0.0 and 1.1.0 signed by `key`, and makes tenants a and b with a token each. */
async function publishHelloAndMakeTenants(h: InProcessHost, key: SigningKey): Promise<{ tokenA: string; tokenB: string }> {
  const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  for (const bytes of [hello.bytes, helloV2]) {
    const answer = await h.host.app.inject({
      method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher),
      payload: { bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, key) },
    });
    expect(answer.statusCode).toBe(201);
  }
  h.host.auth.createTenant({ id: 'tenant-a', name: 'A' });
  h.host.auth.createTenant({ id: 'tenant-b', name: 'B' });
  return {
    tokenA: h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token,
    tokenB: h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-b' }).token,
  };
}

describe('installs per tenant and the gateway in front of them', () => {
  const fixture = signingFixture('example');
  let h: InProcessHost;
  let tokenA: string;
  let tokenB: string;
  const hello2Hash = sign(helloV2, fixture.key).contentHash;

  beforeAll(async () => {
    h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, EXT_MAX_MEMORY_MB: '128' } });
    ({ tokenA, tokenB } = await publishHelloAndMakeTenants(h, fixture.key));
  });
  afterAll(async () => h?.close());

  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const install = (token: string, body: Record<string, unknown>) => inject({ method: 'POST', url: '/api/installs', headers: bearer(token), payload: body });
  const getInstall = (token: string) => inject({ method: 'GET', url: '/api/installs/com.example.hello', headers: bearer(token) });

  it('refuses a grant beyond the manifest, an undeclared egress host, a bad config and limits above the ceiling — saving nothing', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ grants: ['alga.storage'] }, 'E_INSTALL_GRANT_INVALID'],
      [{ egress: ['evil.example.net'] }, 'E_INSTALL_EGRESS_INVALID'],
      [{ config: { greeting_name: 42 } }, 'E_INSTALL_CONFIG_INVALID'],
      [{ config: { surprise: 'x' } }, 'E_INSTALL_CONFIG_INVALID'],
      [{ limits: { memoryMb: 4096 } }, 'E_INSTALL_LIMITS_INVALID'],
      [{ version: '9.9.9' }, 'E_REGISTRY_NOT_FOUND'],
      [{ grantz: ['alga.log'] }, 'E_REQUEST_INVALID'],
      [{ secrets: { API_KEY: 42 } }, 'E_INSTALL_SECRETS_INVALID'],
    ];
    for (const [extra, code] of cases) {
      const answer = await install(tokenA, { extensionId: 'com.example.hello', version: '1.0.0', ...extra });
      expect(answer.json().error?.code, JSON.stringify(extra)).toBe(code);
      expect(answer.statusCode).toBeGreaterThanOrEqual(400);
    }
    expect((await getInstall(tokenA)).statusCode).toBe(404);
  });

  it('tells a caller who sent a form body (curl -d without a content-type) to send JSON: 415 E_REQUEST_MEDIA_TYPE', async () => {
    const form = await inject({ method: 'POST', url: '/api/installs', headers: { ...bearer(tokenA), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'extensionId=com.example.hello' });
    expect(form.statusCode).toBe(415);
    expect(form.json().error).toEqual({ code: 'E_REQUEST_MEDIA_TYPE', message: 'The request body is not of a type this endpoint reads; send JSON with content-type: application/json. It was sent as application/x-www-form-urlencoded.' });
    expect((await inject({ method: 'GET', url: '/api/installs', headers: bearer(tokenA) })).json().installs).toEqual([]);
  });

  it('installs for tenant A with config and sealed secrets that are never returned', async () => {
    const created = await install(tokenA, { extensionId: 'com.example.hello', version: '1.0.0', config: { greeting_name: 'Ada' }, secrets: { API_KEY: 'sk-live-do-not-leak' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().install).toMatchObject({ tenantId: 'tenant-a', version: '1.0.0', contentHash: hello.hash, config: { greeting_name: 'Ada' }, grants: [], secretNames: ['API_KEY'], limits: { memoryMb: 64, timeoutMs: 5000 } });
    expect(created.body).not.toContain('sk-live-do-not-leak');
    expect(created.body).not.toContain('secretEnvelope');
    const listed = await inject({ method: 'GET', url: '/api/installs', headers: bearer(tokenA) });
    expect(listed.body).not.toContain('sk-live-do-not-leak');
    expect(listed.json().installs).toHaveLength(1);

    const stored = h.store.db<InstallRecord, [string, string]>('ext.installs').get(['tenant-a', 'com.example.hello'])!;
    expect(JSON.stringify(stored)).not.toContain('sk-live-do-not-leak');
    expect(openSecrets(stored.secretEnvelopes!.API_KEY, h.secrets.runnerKeyPair.secretKey)).toEqual({ API_KEY: 'sk-live-do-not-leak' });

    expect((await install(tokenA, { extensionId: 'com.example.hello' })).statusCode).toBe(409);
  });

  it('keeps tenants apart: tenant B sees no install and cannot name tenant A', async () => {
    expect((await getInstall(tokenB)).statusCode).toBe(404);
    expect((await inject({ method: 'GET', url: '/api/installs?tenantId=tenant-a', headers: bearer(tokenB) })).json().installs).toEqual([]);
    const call = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: { ...bearer(tokenB), 'x-tenant-id': 'tenant-a' } });
    expect(call.statusCode).toBe(404);
    expect(call.json().error.code).toBe('E_EXT_NOT_FOUND');
  });

  it('upgrades and downgrades the version, re-validating against the new manifest and keeping secrets', async () => {
    const up = await inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tokenA), payload: { version: '1.1.0' } });
    expect(up.statusCode).toBe(200);
    expect(up.json().install).toMatchObject({ version: '1.1.0', contentHash: hello2Hash, secretNames: ['API_KEY'], config: { greeting_name: 'Ada' } });
    const badGrant = await inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tokenA), payload: { grants: ['alga.http'] } });
    expect(badGrant.json().error.code).toBe('E_INSTALL_GRANT_INVALID');
    const down = await inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tokenA), payload: { version: '1.0.0' } });
    expect(down.json().install).toMatchObject({ version: '1.0.0', contentHash: hello.hash });
  });

  it('gateway: 401 without credentials, 404/405 for undeclared endpoints, 502 with a request id when the runner is down', async () => {
    expect((await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello' })).statusCode).toBe(401);
    const undeclaredPath = await inject({ method: 'GET', url: '/api/ext/com.example.hello/secret-admin', headers: bearer(tokenA) });
    expect(undeclaredPath.statusCode).toBe(404);
    expect(undeclaredPath.json().error.code).toBe('E_EXT_NO_SUCH_PATH');
    const undeclaredMethod = await inject({ method: 'POST', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA), payload: 'x' });
    expect(undeclaredMethod.statusCode).toBe(405);
    expect(undeclaredMethod.headers.allow).toBe('GET, HEAD');
    const down = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) });
    expect(down.statusCode).toBe(502); // not 504: the gateway did not wait for its deadline
    expect(down.json()).toMatchObject({ error: { code: 'E_RUNNER_UNAVAILABLE' }, request_id: down.headers['x-request-id'] });
    const log = await inject({ method: 'GET', url: '/api/installs/com.example.hello/executions', headers: bearer(tokenA) });
    expect(log.json().executions[0]).toMatchObject({ requestId: down.headers['x-request-id'], status: 502, error: 'E_RUNNER_UNAVAILABLE', tenantId: 'tenant-a' });
    const usage = await inject({ method: 'GET', url: '/api/installs/com.example.hello/usage', headers: bearer(tokenA) });
    expect(usage.json().usage[0]).toMatchObject({ requests: 3, errors: 3 });
    for (const query of ['usage?days=abc', 'usage?days=0', 'executions?limit=many', 'executions?before=soon']) {
      const bad = await inject({ method: 'GET', url: `/api/installs/com.example.hello/${query}`, headers: bearer(tokenA) });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error.code).toBe('E_REQUEST_INVALID');
    }
  });

  it('uninstall removes it: the gateway then answers 404', async () => {
    const removed = await inject({ method: 'DELETE', url: '/api/installs/com.example.hello', headers: bearer(tokenA) });
    expect(removed.statusCode).toBe(200);
    expect((await getInstall(tokenA)).statusCode).toBe(404);
    expect((await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) })).statusCode).toBe(404);
  });
});

describe('installs on a host without a trust bundle', () => {
  const fixture = signingFixture('example');
  const dataDir = tempDir();
  let h: InProcessHost;
  let tokenA: string;
  let tokenB: string;

  // Published and installed while the host trusted the key; then the host restarts without a trust bundle.
  beforeAll(async () => {
    const trusting = await inProcessHost({ dataDir: dataDir.path, env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    ({ tokenA, tokenB } = await publishHelloAndMakeTenants(trusting, fixture.key));
    const installed = await trusting.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenA), payload: { extensionId: 'com.example.hello', version: '1.0.0' } });
    expect(installed.statusCode).toBe(201);
    await trusting.close();
    h = await inProcessHost({ dataDir: dataDir.path });
  });
  afterAll(async () => {
    await h?.close();
    dataDir.remove();
  });

  const expectTrustBundleMissing = (answer: { statusCode: number; json(): { error: { code: string; message: string } } }) => {
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.code).toBe('E_TRUST_BUNDLE_MISSING');
    expect(answer.json().error.message).toContain('alga-host trust add');
  };

  it('refuses a new install with 503 E_TRUST_BUNDLE_MISSING and saves no install', async () => {
    expectTrustBundleMissing(await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenB), payload: { extensionId: 'com.example.hello' } }));
    expect((await h.host.app.inject({ method: 'GET', url: '/api/installs/com.example.hello', headers: bearer(tokenB) })).statusCode).toBe(404);
    expect((await h.host.app.inject({ method: 'GET', url: '/api/installs', headers: bearer(tokenB) })).json().installs).toEqual([]);
  });

  it('refuses a version change with 503 and keeps the install as it was', async () => {
    expectTrustBundleMissing(await h.host.app.inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tokenA), payload: { version: '1.1.0' } }));
    const kept = await h.host.app.inject({ method: 'GET', url: '/api/installs/com.example.hello', headers: bearer(tokenA) });
    expect(kept.statusCode).toBe(200);
    expect(kept.json().install).toMatchObject({ version: '1.0.0', contentHash: hello.hash });
  });
});

describe('an install verifies the stored blob again (on the verification thread)', () => {
  const fixture = signingFixture('example');
  let h: InProcessHost;
  let tokenB: string;

  beforeAll(async () => {
    h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    ({ tokenB } = await publishHelloAndMakeTenants(h, fixture.key));
  });
  afterAll(async () => h?.close());

  it('refuses a version whose blob was damaged on disk after publishing, with the verification\'s code, and saves nothing', async () => {
    const damagedHash = sign(helloV2, fixture.key).contentHash;
    const blob = join(h.dataDir, 'bundles', 'sha256', `${damagedHash.slice('sha256:'.length)}.algabundle`);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(blob, bytes);

    const refused = await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenB), payload: { extensionId: 'com.example.hello', version: '1.1.0' } });
    expect(refused.json().error.code).toBe('E_BUNDLE_HASH_MISMATCH');
    expect(refused.statusCode).toBe(errorCatalog.E_BUNDLE_HASH_MISMATCH.status);
    expect((await h.host.app.inject({ method: 'GET', url: '/api/installs/com.example.hello', headers: bearer(tokenB) })).statusCode).toBe(404);

    const intact = await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenB), payload: { extensionId: 'com.example.hello', version: '1.0.0' } });
    expect(intact.statusCode).toBe(201);
  });
});
