import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import licensePlugin from '../../host/plugins/license/index.ts';
import { tempDir } from '../host/temp-dir.ts';

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
