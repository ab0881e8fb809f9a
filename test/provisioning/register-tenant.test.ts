import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import { openStore } from '../../host/core/store.ts';
import licensePlugin from '../../host/plugins/license/index.ts';
import { tempDir } from '../host/temp-dir.ts';
import { request } from './support/host-process.ts';

/**
 * POST /register-tenant on a real control plane (127.0.0.1): one contact email is one tenant.
 * Registering again with the same details answers that tenant (no new code, no second mail);
 * other details are a 409 naming the tenant.
 */
describe('control plane: registering a tenant again with the same contact email', () => {
  const dir = tempDir('alga-register-tenant-');
  let running: RunningHost;
  let serviceToken: string;
  const acme = { company: 'Acme', contact_name: 'Ann', contact_email: 'ann@acme.test', edition: 'pro' };

  beforeAll(async () => {
    mkdirSync(join(dir.path, 'downloads'), { recursive: true });
    writeFileSync(join(dir.path, 'downloads', 'alga-appliance.iso'), 'ISO-BYTES');
    running = await startHost({
      dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'control-plane', plugins: [licensePlugin], logLevel: 'silent', announce: () => {},
      env: { RUNNER_BASE_URL: 'http://127.0.0.1:9' },
    });
    serviceToken = readFileSync(join(dir.path, 'license-service-token'), 'utf8').trim();
  });
  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  const service = (path: string, init: { method?: string; body?: unknown } = {}) =>
    fetch(`${running.url}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { authorization: `Bearer ${serviceToken}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  const register = async (body: unknown) => {
    const response = await service('/register-tenant', { body });
    return { status: response.status, json: await response.json() };
  };
  const mailsTo = async (to: string) => (await (await service(`/outbox?to=${encodeURIComponent(to)}`)).json()).messages as unknown[];

  it('answers the existing tenant for a repeated registration, without a second tenant, code or mail', async () => {
    const first = await register(acme);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ edition: 'pro', already_registered: false, mail_status: 'outbox', install_code_expires_at: null });
    // No SMTP here: the operator releases the mail, and only then is its code minted.
    const released = await service(`/outbox/${first.json.mail_id}/release`, { method: 'POST' });
    expect(released.status).toBe(200);
    const codeExpiresAt = (await released.json()).message.install_code_expires_at;
    expect(codeExpiresAt).toEqual(expect.any(String));

    const again = await register({ ...acme, contact_email: 'ANN@Acme.test', company: ' acme ' });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({
      tenant_id: first.json.tenant_id,
      edition: 'pro',
      install_code_expires_at: codeExpiresAt,
      already_registered: true,
    });
    expect(await (await fetch(again.json.download_url)).text()).toBe('ISO-BYTES');
    expect(await mailsTo('ann@acme.test')).toHaveLength(1);

    // The tenant holds exactly the one code mailed first: the repeat minted none and revoked none.
    const reissued = await service('/install-codes/reissue', { body: { contact_email: 'ann@acme.test' } });
    expect((await reissued.json()).revoked_codes).toBe(1);
  });

  it('refuses the same email with other details: 409 E_TENANT_EMAIL_TAKEN naming the tenant and the fields, and creates nothing', async () => {
    const first = await register({ ...acme, contact_email: 'bob@bolt.test', company: 'Bolt', contact_name: 'Bob' });
    expect(first.status).toBe(201);

    const conflicting = await register({ company: 'Other Co', contact_name: 'Bob', contact_email: 'bob@bolt.test', edition: 'enterprise' });
    expect(conflicting.status).toBe(409);
    expect(conflicting.json.error.code).toBe('E_TENANT_EMAIL_TAKEN');
    expect(conflicting.json.error.message).toContain(first.json.tenant_id);
    expect(conflicting.json.error.message).toContain('company, edition');
    expect(conflicting.json.request_id).toEqual(expect.any(String));
    expect(await mailsTo('bob@bolt.test')).toHaveLength(1);

    // The tenant found by that email is still the first one, unchanged.
    const reissued = await service('/install-codes/reissue', { body: { contact_email: 'bob@bolt.test' } });
    expect((await reissued.json()).tenant_id).toBe(first.json.tenant_id);
  });
});

/**
 * An air-gapped control plane (no SMTP): install-code mail waits in the outbox as a record
 * without a code; an operator releases it once, and only then is the code minted — and shown in
 * that one answer. A store written by an earlier version, which kept codes in outbox mail, is
 * scrubbed at start.
 */
describe('control plane without SMTP: the outbox never holds a code', () => {
  const dir = tempDir('alga-outbox-');
  let running: RunningHost;
  let headers: Record<string, string>;
  const legacyCode = 'ALGA-LEGAC-YCODE-00000-00000-00000-00000-0000';

  beforeAll(async () => {
    // What an earlier control plane left: a mail with its code in plain text.
    ensureInfraSecrets(dir.path, { profile: 'control-plane' });
    const store = openStore(dir.path);
    store.transaction(() => store.db('license.outbox').putSync('2025-01-01T00:00:00.000Z_abcd', { id: 'x', to: 'old@acme.test', subject: 's', text: `Install code: ${legacyCode}`, createdAt: '2025-01-01T00:00:00.000Z' }));
    await store.close();
    running = await startHost({ dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'control-plane', plugins: [licensePlugin], logLevel: 'silent', announce: () => {}, env: { RUNNER_BASE_URL: 'http://127.0.0.1:9' } });
    headers = { authorization: `Bearer ${readFileSync(join(dir.path, 'license-service-token'), 'utf8').trim()}` };
  });
  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  it('releases a mail once with a freshly minted code; lists mail without codes; a re-issue supersedes an unreleased mail', async () => {
    const call = (path: string, init: { json?: unknown; method?: string } = {}) => request(`${running.url}${path}`, { ...init, headers });
    const first = await call('/register-tenant', { json: { company: 'Gap', contact_name: 'Gia', contact_email: 'gia@gap.test', edition: 'pro' } });
    const reissued = await call('/install-codes/reissue', { json: { contact_email: 'gia@gap.test' } });
    expect(reissued.json).toMatchObject({ revoked_codes: 0, mail_status: 'outbox', install_code_expires_at: null });
    const listed = await call('/outbox?to=gia@gap.test');
    expect(listed.json.transport).toBe('outbox');
    expect(listed.json.messages.map((mail: { id: string; status: string }) => [mail.id, mail.status])).toEqual([[reissued.json.mail_id, 'outbox'], [first.json.mail_id, 'superseded']]);
    expect((await call(`/outbox/${first.json.mail_id}/release`, { method: 'POST' })).json.error.code).toBe('E_MAIL_STATE');

    const released = await call(`/outbox/${reissued.json.mail_id}/release`, { method: 'POST' });
    expect(released.headers.get('cache-control')).toBe('no-store');
    const code = /ALGA(?:-[0-9A-Z]{1,5}){7}/.exec(released.json.message.text)![0];
    expect(released.json.message).toMatchObject({ status: 'released', to: 'gia@gap.test' });
    const again = await call(`/outbox/${reissued.json.mail_id}/release`, { method: 'POST' });
    expect([again.status, again.json.error.code]).toEqual([409, 'E_MAIL_STATE']);
    expect(again.text).not.toContain(code);
    expect((await call('/outbox')).text).not.toMatch(/ALGA-[0-9A-Z]{5}-/);

    await running.store.flushed();
    const stored = readFileSync(join(dir.path, 'store', 'data.mdb'));
    for (const secret of [code, code.replaceAll('-', '')]) expect(stored.includes(Buffer.from(secret))).toBe(false);
    // The earlier version's plain-text mail is gone (LMDB may keep freed pages' bytes until reused; docs/provisioning.md says how to compact).
    expect([...running.store.db('license.outbox').getKeys({})]).toEqual([]);
    expect((await request(`${running.url}/register`, { json: { claim_code: code, appliance_id: 'apl_outbox_1' } })).status).toBe(200);
  });
});
