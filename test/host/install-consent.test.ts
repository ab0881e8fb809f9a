import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/bundle/index.ts';
import { openSecrets, sealSecrets } from '../../lib/sealed-secrets.ts';
import type { InstallRecord } from '../../host/plugins/extensions/installs/install-store.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { repackedExample, sign, signingFixture } from './signed-bundles.ts';

/**
 * Consent on grants, through the installs API: nothing a version asks for is granted unless the
 * request lists it, and moving to a version that asks for more is refused until the new asks are
 * answered — the old version keeps serving meanwhile. (Before: an upgrade from a version without
 * capabilities to one declaring alga.storage kept `grants: []` silently, and every call trapped.)
 */
const extensionId = 'com.example.counter';
const asVersion = (version: string, change: Partial<Manifest>) => repackedExample('hello', (manifest) => ({ ...manifest, name: extensionId, version, ...change }));
const versions = {
  '1.0.0': asVersion('1.0.0', { capabilities: [] }),
  '2.0.0': asVersion('2.0.0', { capabilities: ['alga.storage'] }),
  '3.0.0': asVersion('3.0.0', { capabilities: ['alga.storage', 'alga.http'], egress: ['api.example.com', '*.cdn.example.com'] }),
  '4.0.0': asVersion('4.0.0', { capabilities: ['alga.http'], egress: ['api.example.com'] }),
};

describe('consent on grants (installs API)', () => {
  const fixture = signingFixture('example');
  let h: InProcessHost;
  let token: string;
  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const install = (body: Record<string, unknown>) => inject({ method: 'POST', url: '/api/installs', headers: bearer(token), payload: { extensionId, ...body } });
  const patch = (body: Record<string, unknown>) => inject({ method: 'PATCH', url: `/api/installs/${extensionId}`, headers: bearer(token), payload: body });
  const current = async () => (await inject({ method: 'GET', url: `/api/installs/${extensionId}`, headers: bearer(token) })).json().install;

  beforeAll(async () => {
    h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    for (const bytes of Object.values(versions)) {
      const published = await inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, fixture.key) } });
      expect(published.statusCode).toBe(201);
    }
    h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    token = h.host.auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
  });
  afterAll(async () => h?.close());

  it('refuses to install a version that asks for capabilities without the request naming what it grants', async () => {
    const refused = await install({ version: '2.0.0' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error.code).toBe('E_INSTALL_CONSENT_REQUIRED');
    expect(refused.json().error.message).toContain('alga.storage');
    expect((await inject({ method: 'GET', url: `/api/installs/${extensionId}`, headers: bearer(token) })).statusCode).toBe(404);
  });

  it('installs a version that asks for nothing without any consent, granting nothing', async () => {
    const created = await install({ version: '1.0.0' });
    expect(created.statusCode).toBe(201);
    expect(created.json().install).toMatchObject({ version: '1.0.0', grants: [], egress: [] });
  });

  it('shows what moving to a version asks for, before anything changes', async () => {
    const consent = await inject({ method: 'GET', url: `/api/installs/${extensionId}/consent?version=2.0.0`, headers: bearer(token) });
    expect(consent.statusCode).toBe(200);
    expect(consent.json()).toMatchObject({
      version: '2.0.0',
      installed: { version: '1.0.0', grants: [] },
      asks: { capabilities: ['alga.storage'], egress: [] },
      undecided: { capabilities: ['alga.storage'], egress: [] },
    });
  });

  it('refuses the upgrade to a version asking for more until the request answers, and the old version keeps serving', async () => {
    const refused = await patch({ version: '2.0.0' });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ error: { code: 'E_INSTALL_CONSENT_REQUIRED', message: expect.stringContaining('com.example.counter@2.0.0 asks for capabilities alga.storage') }, request_id: expect.any(String) });
    expect(await current()).toMatchObject({ version: '1.0.0', grants: [] });

    const accepted = await patch({ version: '2.0.0', grants: ['alga.storage'] });
    expect(accepted.statusCode).toBe(200);
    expect(accepted.json().install).toMatchObject({ version: '2.0.0', grants: ['alga.storage'] });
  });

  it('asks only about what is new: an egress host the installed version did not ask for needs "egress" too', async () => {
    const grantsOnly = await patch({ version: '3.0.0', grants: ['alga.storage', 'alga.http'] });
    expect(grantsOnly.statusCode).toBe(409);
    expect(grantsOnly.json().error.message).toContain('egress to api.example.com, *.cdn.example.com');
    expect(grantsOnly.json().error.message).not.toContain('capabilities');

    const bothAnswered = await patch({ version: '3.0.0', grants: ['alga.storage'], egress: ['images.cdn.example.com'] });
    expect(bothAnswered.statusCode).toBe(200);
    expect(bothAnswered.json().install).toMatchObject({ version: '3.0.0', grants: ['alga.storage'], egress: ['images.cdn.example.com'] });
  });

  it('keeps what was declined declined when the next version asks for it again, and drops grants no longer asked for', async () => {
    // 4.0.0 asks for alga.http (declined at 3.0.0) and api.example.com (declined): nothing new, so no consent is needed.
    const moved = await patch({ version: '4.0.0' });
    expect(moved.statusCode).toBe(200);
    // alga.storage is no longer asked for: dropped (it used to be refused with E_INSTALL_GRANT_INVALID); images.cdn… is no longer covered.
    expect(moved.json().install).toMatchObject({ version: '4.0.0', grants: [], egress: [] });
  });

  it('downgrading to a version that asks for something again asks again', async () => {
    const refused = await patch({ version: '2.0.0' });
    expect(refused.json().error.code).toBe('E_INSTALL_CONSENT_REQUIRED');
    const declined = await patch({ version: '2.0.0', grants: [] });
    expect(declined.statusCode).toBe(200);
    expect(declined.json().install).toMatchObject({ version: '2.0.0', grants: [] });
  });

  it('audits what was granted on each change', async () => {
    const audit = await inject({ method: 'GET', url: '/api/admin/audit?action=install.updated&limit=1', headers: bearer(h.adminToken) });
    expect(audit.json().entries[0]).toMatchObject({ target: `${extensionId}@2.0.0`, detail: { fromVersion: '4.0.0', grants: [] } });
  });
});

describe('install secrets: write-only, one at a time', () => {
  const fixture = signingFixture('example');
  let h: InProcessHost;
  let token: string;
  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const patch = (body: Record<string, unknown>) => inject({ method: 'PATCH', url: `/api/installs/${extensionId}`, headers: bearer(token), payload: body });
  const stored = () => h.store.db<InstallRecord, [string, string]>('ext.installs').get(['acme', extensionId])!;
  const opened = () => Object.assign({}, ...Object.values(stored().secretEnvelopes ?? {}).map((envelope) => openSecrets(envelope, h.secrets.runnerKeyPair.secretKey)));

  beforeAll(async () => {
    h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const bytes = versions['1.0.0'];
    await inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, fixture.key) } });
    h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    token = h.host.auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
    const created = await inject({ method: 'POST', url: '/api/installs', headers: bearer(token), payload: { extensionId, secrets: { API_KEY: 'first-key-value', DB_PASSWORD: 'db-password-value' } } });
    expect(created.statusCode).toBe(201);
  });
  afterAll(async () => h?.close());

  it('changes one secret and keeps the others, removes one with null, and never answers a value', async () => {
    const changed = await patch({ secretUpdates: { API_KEY: 'second-key-value', WEBHOOK: 'hook-value' } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().install.secretNames).toEqual(['API_KEY', 'DB_PASSWORD', 'WEBHOOK']);
    expect(changed.body).not.toMatch(/key-value|password-value|hook-value|secretEnvelope/);
    expect(opened()).toEqual({ API_KEY: 'second-key-value', DB_PASSWORD: 'db-password-value', WEBHOOK: 'hook-value' });

    const removed = await patch({ secretUpdates: { DB_PASSWORD: null } });
    expect(removed.json().install.secretNames).toEqual(['API_KEY', 'WEBHOOK']);
    expect(opened()).toEqual({ API_KEY: 'second-key-value', WEBHOOK: 'hook-value' });
    const audit = await inject({ method: 'GET', url: '/api/admin/audit?action=install.updated&limit=1', headers: bearer(h.adminToken) });
    expect(JSON.stringify(audit.json())).not.toMatch(/key-value|hook-value/);
    expect(audit.json().entries[0].detail).toMatchObject({ secretsChanged: ['DB_PASSWORD'], secretNames: ['API_KEY', 'WEBHOOK'] });
  });

  it('refuses bad updates and changes nothing', async () => {
    const before = stored();
    for (const body of [{ secretUpdates: { API_KEY: 42 } }, { secretUpdates: { 'bad name': 'x' } }, { secrets: { A: 'x' }, secretUpdates: { B: 'y' } }]) {
      const refused = await patch(body);
      expect(refused.json().error?.code, JSON.stringify(body)).toBe('E_INSTALL_SECRETS_INVALID');
    }
    expect((await patch({ secretUpdates: ['x'] })).json().error.code).toBe('E_REQUEST_INVALID');
    expect(stored()).toEqual(before);
  });

  it('keeps an older host\'s one shared envelope working, and asks for all secrets again before changing one of them', async () => {
    const legacy = sealSecrets({ OLD_A: 'a-value', OLD_B: 'b-value' }, h.secrets.runnerKeyPair.publicKey);
    const { secretEnvelopes: _dropped, ...rest } = stored();
    h.store.db<InstallRecord, [string, string]>('ext.installs').putSync(['acme', extensionId], { ...rest, secretEnvelope: legacy, secretNames: ['OLD_A', 'OLD_B'] });
    const kept = await patch({ config: {} });
    expect(kept.json().install.secretNames).toEqual(['OLD_A', 'OLD_B']);
    expect(stored().secretEnvelope).toEqual(legacy);
    const refused = await patch({ secretUpdates: { OLD_A: null } });
    expect(refused.json().error.code).toBe('E_INSTALL_SECRETS_INVALID');
    const replaced = await patch({ secrets: { OLD_A: 'new-a' } });
    expect(replaced.json().install.secretNames).toEqual(['OLD_A']);
    expect(stored().secretEnvelope).toBeUndefined();
    expect(opened()).toEqual({ OLD_A: 'new-a' });
  });
});
