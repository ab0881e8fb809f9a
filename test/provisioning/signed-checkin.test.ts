import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import { publicKeyText, signCheckin } from '../../host/plugins/license/checkin-signature.ts';
import licensePlugin from '../../host/plugins/license/index.ts';
import { tempDir } from '../host/temp-dir.ts';
import { installCodeFromOutbox, request } from './support/host-process.ts';

/**
 * POST /checkin on a real control plane: each check-in is signed by the key the appliance
 * registered with its install code, over a fresh time and nonce. A replayed or stale check-in, an
 * unsigned one, or one signed by another key gets no license token — even with the credential.
 */
describe('signed check-ins', () => {
  const dir = tempDir('alga-signed-checkin-');
  let running: RunningHost;
  let serviceToken: string;

  beforeAll(async () => {
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

  /** A paid tenant's code, redeemed for a new appliance id (with or without a check-in key). */
  async function registerAppliance(email: string, publicKey?: string) {
    const headers = { authorization: `Bearer ${serviceToken}` };
    await request(`${running.url}/register-tenant`, { json: { company: email, contact_name: 'Pat', contact_email: email, edition: 'pro' }, headers });
    const code = await installCodeFromOutbox(running.url, serviceToken, email);
    const applianceId = `apl_${email.replace(/\W/g, '')}`;
    const registered = await request(`${running.url}/register`, { json: { claim_code: code, appliance_id: applianceId, ...(publicKey ? { appliance_public_key: publicKey } : {}) } });
    expect(registered.status).toBe(200);
    return { applianceId, credential: registered.json.appliance_credential as string };
  }

  const checkin = (credential: string, body: unknown) => request(`${running.url}/checkin`, { json: body, headers: { authorization: `Bearer ${credential}` } });

  it('accepts a fresh signed check-in once; refuses its replay, a stale one, an unsigned one and another key\'s', async () => {
    const key = generateKeyPairSync('ed25519');
    const { applianceId, credential } = await registerAppliance('pat@signed.test', publicKeyText(key.publicKey));

    const fresh = signCheckin(applianceId, key.privateKey);
    const accepted = await checkin(credential, fresh);
    expect(accepted.status).toBe(200);
    expect(accepted.json.jwt).toMatch(/^eyJ/);

    const refusals = {
      replayed: await checkin(credential, fresh),
      stale: await checkin(credential, signCheckin(applianceId, key.privateKey, Date.now() - 10 * 60_000)),
      future: await checkin(credential, signCheckin(applianceId, key.privateKey, Date.now() + 10 * 60_000)),
      unsigned: await checkin(credential, {}),
      otherKey: await checkin(credential, signCheckin(applianceId, generateKeyPairSync('ed25519').privateKey)),
      otherAppliance: await checkin(credential, signCheckin('apl_someone_else', key.privateKey)),
      tampered: await checkin(credential, { ...signCheckin(applianceId, key.privateKey), nonce: 'A'.repeat(24) }),
    };
    expect(Object.fromEntries(Object.entries(refusals).map(([name, response]) => [name, [response.status, response.json.error.code]]))).toEqual({
      replayed: [401, 'E_CHECKIN_REPLAYED'],
      stale: [401, 'E_CHECKIN_STALE'],
      future: [401, 'E_CHECKIN_STALE'],
      unsigned: [401, 'E_CHECKIN_SIGNATURE_INVALID'],
      otherKey: [401, 'E_CHECKIN_SIGNATURE_INVALID'],
      otherAppliance: [401, 'E_CHECKIN_SIGNATURE_INVALID'],
      tampered: [401, 'E_CHECKIN_SIGNATURE_INVALID'],
    });
    for (const response of Object.values(refusals)) expect(response.text).not.toContain('eyJ');
    expect((await checkin(credential, signCheckin(applianceId, key.privateKey))).status).toBe(200);
  });

  it('an appliance registered before signed check-ins enrolls its key with its first signed check-in; from then on only signed ones count', async () => {
    const { applianceId, credential } = await registerAppliance('lee@legacy.test');
    expect((await checkin(credential, {})).status).toBe(200);

    const key = generateKeyPairSync('ed25519');
    const enrolling = { ...signCheckin(applianceId, key.privateKey), public_key: publicKeyText(key.publicKey) };
    expect((await checkin(credential, enrolling)).status).toBe(200);
    expect((await checkin(credential, enrolling)).json.error.code).toBe('E_CHECKIN_REPLAYED');
    expect((await checkin(credential, {})).json.error.code).toBe('E_CHECKIN_SIGNATURE_INVALID');
    // A thief with the credential cannot swap in a key of their own.
    const thief = generateKeyPairSync('ed25519');
    const swapped = await checkin(credential, { ...signCheckin(applianceId, thief.privateKey), public_key: publicKeyText(thief.publicKey) });
    expect(swapped.json.error.code).toBe('E_CHECKIN_SIGNATURE_INVALID');
    expect((await checkin(credential, signCheckin(applianceId, key.privateKey))).status).toBe(200);
  });
});
