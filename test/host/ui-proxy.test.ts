import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packBundle, packProjectDir, unpackBundle } from '../../lib/bundle/index.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { uiProxyAuthKey } from '../../host/core/runner/ui-proxy-key.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { guestDir } from '../support/projects.ts';
import { publishSigned, signingFixture } from './signed-bundles.ts';
import { tempDir } from './temp-dir.ts';

/**
 * `alga.ui_proxy` end to end: a real host (startHost) with its real runner child, the misbehave
 * guest calling host routes through `POST /ui-proxy?route=…`, and the host route's own checks.
 */
describe('host routes for extensions (alga.ui_proxy) through a real runner', () => {
  const dir = tempDir('alga-ui-proxy-');
  const fixture = signingFixture('test');
  const misbehave = packProjectDir(guestDir('misbehave'));
  const extensionId = 'test.guests.misbehave';
  let running: RunningHost;
  let url: string;
  const tokens: Record<string, string> = {};
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  const publish = async (bytes: Uint8Array) => {
    const publisher = running.host.auth.createToken({ kind: 'publisher', publisher: 'test' }).token;
    expect((await publishSigned(url, publisher, bytes, fixture.key)).status).toBe(201);
  };
  /** Installs with the grants given (every capability the guest declares when none are) and no egress: consent is explicit. */
  const install = async (token: string, body: Record<string, unknown>) => {
    const consent = { grants: unpackBundle(misbehave.bytes).manifest.capabilities, egress: [] };
    const answer = await fetch(`${url}/api/installs`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/json' }, body: JSON.stringify({ extensionId, ...consent, ...body }) });
    expect(answer.status).toBe(201);
    return (await answer.json()).install as { id: string; version: string; contentHash: string; grants: string[] };
  };
  /** The guest calls `uiProxy.callRoute(route, payload)` and reports `{ok, value}` or `{ok:false, error:<host-error tag>}`. */
  const guestCalls = async (token: string, route: string) => {
    const answer = await fetch(`${url}/api/ext/${extensionId}/ui-proxy?route=${encodeURIComponent(route)}`, { method: 'POST', headers: { ...auth(token), 'content-type': 'application/octet-stream' }, body: '{}' });
    expect(answer.status).toBe(200);
    const result = await answer.json();
    return result.ok ? { ok: true, value: JSON.parse(result.value) } : result;
  };
  const direct = (route: string, headers: Record<string, string>) =>
    fetch(`${url}/api/ui-proxy/${route}`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', ...headers }, body: '' });

  beforeAll(async () => {
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, EXT_GATEWAY_TIMEOUT_MS: '15000' };
    for (const name of Object.keys(env)) if (name.startsWith('RUNNER_') || name.startsWith('UI_PROXY_')) delete env[name];
    running = await startHost({ dataDir: join(dir.path, 'data'), port, profile: 'appliance', plugins: [extensionsPlugin], env, logLevel: 'silent', announce: () => {} });
    url = running.url;
    for (const [tenant, name] of [['tenant-a', 'Tenant A'], ['tenant-b', 'Tenant B'], ['tenant-c', 'Tenant C']]) {
      running.host.auth.createTenant({ id: tenant, name });
      tokens[tenant] = running.host.auth.createToken({ kind: 'tenant', tenantId: tenant }).token;
    }
    await publish(misbehave.bytes);
  });

  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  it('answers the calling install\'s own facts: install/info, tenant/info, extension/versions', async () => {
    const installed = await install(tokens['tenant-a'], {});
    expect(installed.grants).toContain('alga.ui_proxy');

    const info = await guestCalls(tokens['tenant-a'], 'install/info');
    expect(info).toMatchObject({ ok: true, value: { installId: installed.id, extensionId, version: '1.0.0', contentHash: misbehave.hash, enabled: true, grants: installed.grants, secretNames: [] } });
    expect(info.value).not.toHaveProperty('secretEnvelope');

    expect(await guestCalls(tokens['tenant-a'], 'tenant/info')).toEqual({ ok: true, value: { id: 'tenant-a', name: 'Tenant A' } });
    expect(await guestCalls(tokens['tenant-a'], 'extension/versions')).toEqual({ ok: true, value: { installed: '1.0.0', latest: '1.0.0', versions: ['1.0.0'] } });
    expect(await guestCalls(tokens['tenant-a'], 'no/such/route')).toMatchObject({ ok: false, error: 'not-found' });
  });

  it('gives another tenant its own facts, and nothing when the install is not granted alga.ui_proxy', async () => {
    const grants = ['alga.log'];
    await install(tokens['tenant-b'], { grants });
    expect(await guestCalls(tokens['tenant-b'], 'tenant/info')).toMatchObject({ ok: false, error: 'denied' });
    const patched = await fetch(`${url}/api/installs/${extensionId}`, { method: 'PATCH', headers: { ...auth(tokens['tenant-b']), 'content-type': 'application/json' }, body: JSON.stringify({ grants: [...grants, 'alga.ui_proxy'] }) });
    expect(patched.status).toBe(200);
    expect(await guestCalls(tokens['tenant-b'], 'tenant/info')).toEqual({ ok: true, value: { id: 'tenant-b', name: 'Tenant B' } });
  });

  it('answers only the runner\'s key, and only for a real, enabled, granted install', async () => {
    const installed = await install(tokens['tenant-c'], { grants: ['alga.log'] });
    const key = uiProxyAuthKey(running.secrets.runnerServiceToken, {});
    const a = (await (await fetch(`${url}/api/installs/${extensionId}`, { headers: auth(tokens['tenant-a']) })).json()).install as { id: string };
    const as = (tenant: string, install: string) => ({ 'x-alga-tenant': tenant, 'x-alga-extension': extensionId, 'x-alga-install': install, 'x-alga-request-id': 'r1' });

    const ok = await direct('tenant/info', { ...auth(key), ...as('tenant-a', a.id) });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ id: 'tenant-a', name: 'Tenant A' });

    const refusals: [string, Record<string, string>, number, string][] = [
      ['no key', as('tenant-a', a.id), 401, 'E_AUTH_REQUIRED'],
      ['wrong key', { ...auth(`${key}x`), ...as('tenant-a', a.id) }, 401, 'E_AUTH_REQUIRED'],
      ['a tenant API token', { ...auth(tokens['tenant-a']), ...as('tenant-a', a.id) }, 401, 'E_AUTH_REQUIRED'],
      ['the runner service token', { ...auth(running.secrets.runnerServiceToken), ...as('tenant-a', a.id) }, 401, 'E_AUTH_REQUIRED'],
      ['another tenant\'s install id', { ...auth(key), ...as('tenant-b', a.id) }, 403, 'E_AUTH_FORBIDDEN'],
      ['a tenant without the install', { ...auth(key), ...as('nobody', a.id) }, 403, 'E_AUTH_FORBIDDEN'],
      ['an install not granted alga.ui_proxy', { ...auth(key), ...as('tenant-c', installed.id) }, 403, 'E_AUTH_FORBIDDEN'],
      ['no install header', { ...auth(key), 'x-alga-tenant': 'tenant-a', 'x-alga-extension': extensionId }, 400, 'E_REQUEST_INVALID'],
    ];
    for (const [why, headers, status, code] of refusals) {
      const answer = await direct('tenant/info', headers);
      const body = await answer.text();
      expect({ why, status: answer.status, code: JSON.parse(body).error.code }).toEqual({ why, status, code });
      expect(body).not.toContain('Tenant A');
      expect(body).not.toContain(key);
    }
    const unknown = await direct('constructor', { ...auth(key), ...as('tenant-a', a.id) });
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('E_NOT_FOUND');

    const disabled = await fetch(`${url}/api/installs/${extensionId}`, { method: 'PATCH', headers: { ...auth(tokens['tenant-a']), 'content-type': 'application/json' }, body: JSON.stringify({ enabled: false }) });
    expect(disabled.status).toBe(200);
    expect((await direct('tenant/info', { ...auth(key), ...as('tenant-a', a.id) })).status).toBe(403);
    await fetch(`${url}/api/installs/${extensionId}`, { method: 'PATCH', headers: { ...auth(tokens['tenant-a']), 'content-type': 'application/json' }, body: JSON.stringify({ enabled: true }) });
  });

  /** Calls until the runner answers (not 502/504: a runner being replaced or still compiling). */
  async function callUntilServed(attempt: () => Promise<Response>): Promise<Response> {
    for (const deadline = Date.now() + 60_000; ; await new Promise((resolve) => setTimeout(resolve, 250))) {
      const answer = await attempt();
      if ((answer.status !== 502 && answer.status !== 504) || Date.now() > deadline) return answer;
      await answer.body?.cancel();
    }
  }

  it('passes the runner\'s catalog code through the gateway: guest trap, deadline, bundle refused on verification', async () => {
    const call = (token: string, path: string) => fetch(`${url}/api/ext/${extensionId}${path}`, { headers: auth(token) });
    const expectFailure = async (answer: Response, status: number, code: string) => {
      const body = await answer.json();
      expect({ status: answer.status, code: body.error.code }).toEqual({ status, code });
      expect(body).toEqual({ error: { code, message: expect.any(String) }, request_id: answer.headers.get('x-request-id') });
      expect(JSON.stringify(body)).not.toMatch(/given up on purpose|gave up|\/work\/|\.js:/);
    };

    await expectFailure(await call(tokens['tenant-a'], '/throw'), 500, 'E_RUNNER_GUEST_TRAP');
    const limited = await fetch(`${url}/api/installs/${extensionId}`, { method: 'PATCH', headers: { ...auth(tokens['tenant-a']), 'content-type': 'application/json' }, body: JSON.stringify({ limits: { timeoutMs: 500 } }) });
    expect(limited.status).toBe(200);
    await expectFailure(await call(tokens['tenant-a'], '/loop'), 504, 'E_RUNNER_DEADLINE');

    // Version 1.0.1 is published, installed and served intact; then its blob is damaged on disk
    // and the runner killed: the runner that takes over verifies the bytes again and refuses them.
    const current = unpackBundle(misbehave.bytes);
    const next = packBundle({ manifest: { ...current.manifest, version: '1.0.1' }, component: current.component, ui: current.ui });
    await publish(next);
    const upgraded = await fetch(`${url}/api/installs/${extensionId}`, { method: 'PATCH', headers: { ...auth(tokens['tenant-c']), 'content-type': 'application/json' }, body: JSON.stringify({ version: '1.0.1' }) });
    expect(upgraded.status).toBe(200);
    const { contentHash } = (await upgraded.json()).install as { contentHash: string };
    const blob = join(dir.path, 'data', 'bundles', 'sha256', `${contentHash.slice('sha256:'.length)}.algabundle`);
    expect((await callUntilServed(() => call(tokens['tenant-c'], '/hello'))).status).toBe(200);
    const bytes = readFileSync(blob);
    bytes[bytes.length - 10] ^= 0xff;
    writeFileSync(blob, bytes);
    process.kill(Number(readFileSync(join(dir.path, 'data', 'run', 'runner.pid'), 'utf8')), 'SIGKILL');
    await expectFailure(await callUntilServed(() => call(tokens['tenant-c'], '/hello')), 422, 'E_RUNNER_VERIFICATION_FAILED');

    const log = await fetch(`${url}/api/installs/${extensionId}/executions?limit=5`, { headers: auth(tokens['tenant-a']) });
    const rows = (await log.json()).executions as { status: number; error?: string }[];
    expect(rows.map((row) => `${row.status} ${row.error}`)).toEqual(expect.arrayContaining(['500 E_RUNNER_GUEST_TRAP', '504 E_RUNNER_DEADLINE']));
  });
});
