import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packProjectDir } from '../../lib/bundle/index.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { guestDir } from '../support/projects.ts';
import { sign, signingFixture } from './signed-bundles.ts';
import { tempDir } from './temp-dir.ts';

/**
 * `alga-host start --port 0`: the port is picked when the host listens, and the runner child must
 * still be told the host's URL, or a guest's `alga.ui_proxy` call cannot reach the host.
 */
describe('a host started on port 0 gives its runner child the URL it actually listens on', () => {
  const dir = tempDir('alga-port-zero-');
  const fixture = signingFixture('test');
  const misbehave = packProjectDir(guestDir('misbehave'));
  const extensionId = 'test.guests.misbehave';
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });
  let running: RunningHost;

  beforeAll(async () => {
    const env: Record<string, string | undefined> = { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, EXT_GATEWAY_TIMEOUT_MS: '15000' };
    for (const name of Object.keys(env)) if (name.startsWith('RUNNER_') || name.startsWith('UI_PROXY_')) delete env[name];
    running = await startHost({ dataDir: join(dir.path, 'data'), port: '0', profile: 'appliance', plugins: [extensionsPlugin], env, logLevel: 'silent', announce: () => {} });
  });

  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  it('listens on a real port, is ready, and a guest\'s ui-proxy call reaches the host', async () => {
    const { url } = running;
    expect(new URL(url).port).not.toMatch(/^0?$/);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    running.host.auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
    const tenantToken = running.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;
    const publisherToken = running.host.auth.createToken({ kind: 'publisher', publisher: 'test' }).token;
    const published = await fetch(`${url}/api/registry/bundles`, {
      method: 'POST', headers: { ...auth(publisherToken), 'content-type': 'application/json' },
      body: JSON.stringify({ bundle_b64: Buffer.from(misbehave.bytes).toString('base64'), signatures: sign(misbehave.bytes, fixture.key) }),
    });
    expect(published.status).toBe(201);
    const installed = await fetch(`${url}/api/installs`, { method: 'POST', headers: { ...auth(tenantToken), 'content-type': 'application/json' }, body: JSON.stringify({ extensionId, grants: ['alga.ui_proxy'], egress: [] }) });
    expect(installed.status).toBe(201);

    const answer = await fetch(`${url}/api/ext/${extensionId}/ui-proxy?route=tenant/info`, { method: 'POST', headers: { ...auth(tenantToken), 'content-type': 'application/octet-stream' }, body: '{}' });
    expect(answer.status).toBe(200);
    const result = await answer.json();
    expect(result).toMatchObject({ ok: true });
    expect(JSON.parse(result.value)).toEqual({ id: 'tenant-a', name: 'Tenant A' });
  });
});
