import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packProjectDir, unpackBundle } from '../../lib/bundle/index.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { guestDir } from '../support/projects.ts';
import { publishSigned, signingFixture } from './signed-bundles.ts';
import { tempDir } from './temp-dir.ts';

/**
 * Uninstalling with `?purge=storage` while a request of the install is still running: a real
 * host with its runner child and the misbehave guest, which spins before it writes.
 */
describe('uninstall with purge while a request of the install runs', () => {
  const dir = tempDir('alga-purge-race-');
  const fixture = signingFixture('test');
  const misbehave = packProjectDir(guestDir('misbehave'));
  const extensionId = 'test.guests.misbehave';
  let running: RunningHost;
  let token: string;
  const auth = () => ({ authorization: `Bearer ${token}` });

  const install = async () => {
    const consent = { grants: unpackBundle(misbehave.bytes).manifest.capabilities, egress: [] };
    const answer = await fetch(`${running.url}/api/installs`, { method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: JSON.stringify({ extensionId, ...consent }) });
    expect(answer.status).toBe(201);
  };
  const guest = async (method: string, path: string, body?: string) => {
    const answer = await fetch(`${running.url}/api/ext/${extensionId}${path}`, { method, headers: { ...auth(), 'content-type': 'application/octet-stream' }, body });
    expect(answer.status).toBe(200);
    return answer.json();
  };

  beforeAll(async () => {
    const env: Record<string, string | undefined> = { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, EXT_GATEWAY_TIMEOUT_MS: '15000' };
    for (const name of Object.keys(env)) if (name.startsWith('RUNNER_')) delete env[name];
    running = await startHost({ dataDir: join(dir.path, 'data'), port: await freePort(), profile: 'appliance', plugins: [extensionsPlugin], env, logLevel: 'silent', announce: () => {} });
    running.host.auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
    token = running.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;
    const publisher = running.host.auth.createToken({ kind: 'publisher', publisher: 'test' }).token;
    expect((await publishSigned(running.url, publisher, misbehave.bytes, fixture.key)).status).toBe(201);
  });

  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  it('writes nothing that outlives the purge: the late write is refused, and a new install finds nothing', async () => {
    await install();
    expect(await guest('POST', '/storage/put?key=before', 'stored before')).toEqual({ ok: true });
    const late = guest('POST', '/storage/put?key=late&spin=2500', 'written after the purge');
    await new Promise((resolve) => setTimeout(resolve, 800));
    const uninstalled = await fetch(`${running.url}/api/installs/${extensionId}?purge=storage`, { method: 'DELETE', headers: auth() });
    expect(await uninstalled.json()).toEqual({ uninstalled: true, extensionId, storage: 'purged', purgedKeys: 1 });
    expect(await late).toMatchObject({ ok: false, error: 'denied' });

    await install();
    for (const key of ['before', 'late']) expect(await guest('GET', `/storage/get?key=${key}`)).toEqual({ ok: true, value: null });
    expect(await guest('POST', '/storage/put?key=after', 'the new install writes')).toEqual({ ok: true });
    expect(await guest('GET', '/storage/get?key=after')).toEqual({ ok: true, value: 'the new install writes' });
  });
});
