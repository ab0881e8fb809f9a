import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadInfraSecrets } from '../../host/core/infra-secrets.ts';
import { decryptString, keyIdOf } from '../../host/core/secrets/encryption.ts';
import { openStore } from '../../host/core/store.ts';
import { installCodeFromOutbox, request, signIn, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';

/**
 * The whole install-code flow across real processes: a control plane and two appliances.
 * Register a tenant, claim appliance A with token + code + password, check the tenant ids
 * match, fail the used code on appliance B, re-issue, claim B under the same tenant; then check
 * that no secret reached a log or a response and that every secret file is 0600.
 */

const mode = (path: string) => statSync(path).mode & 0o777;
const password = 'correct horse battery staple 42';
const providerKey = `sk-test-${Math.random().toString(36).slice(2)}${Date.now()}`;

let root: string;
let controlPlane: HostProcess;
let applianceA: HostProcess;
let applianceB: HostProcess;
let serviceToken: string;
const seen = { codes: [] as string[], setupTokens: [] as string[], responses: [] as string[] };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'alga-prov-e2e-'));
  const cpData = join(root, 'control-plane');
  mkdirSync(join(cpData, 'downloads'), { recursive: true });
  writeFileSync(join(cpData, 'downloads', 'alga-appliance.iso'), 'ISO-BYTES');
  controlPlane = await startHostProcess({ dataDir: cpData, profile: 'control-plane', env: { ALGA_DOWNLOAD_LINK_TTL_MINUTES: '0.1' } });
  serviceToken = readFileSync(join(cpData, 'license-service-token'), 'utf8').trim();
  const applianceEnv = { ALGA_LICENSE_SERVICE_URL: controlPlane.url };
  [applianceA, applianceB] = await Promise.all([
    startHostProcess({ dataDir: join(root, 'appliance-a'), profile: 'appliance', env: applianceEnv }),
    startHostProcess({ dataDir: join(root, 'appliance-b'), profile: 'appliance', env: applianceEnv }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([controlPlane?.stop(), applianceA?.stop(), applianceB?.stop()]);
  rmSync(root, { recursive: true, force: true });
});

async function claim(host: HostProcess, body: Record<string, string>) {
  const response = await request(`${host.url}/setup/claim`, { json: body });
  seen.responses.push(response.text);
  return response;
}

describe('appliance registration → install-code claim (control plane + two appliances)', () => {
  let registryTenantId: string;
  let firstCode: string;
  let downloadUrl: string;

  it('registers a tenant: a download link comes back, the install code goes to the outbox only', async () => {
    expect((await request(`${controlPlane.url}/register-tenant`, { json: { company: 'Acme', contact_name: 'Ann', contact_email: 'ann@acme.test', edition: 'pro' } })).status).toBe(401);
    // Without the service token a caller learns nothing, not even what the body should look like.
    const unauthenticated = await request(`${controlPlane.url}/install-codes/reissue`, { json: {} });
    expect(unauthenticated.status).toBe(401);
    expect(unauthenticated.json.error.code).toBe('E_AUTH_REQUIRED');
    const registered = await request(`${controlPlane.url}/register-tenant`, {
      json: { company: 'Acme', contact_name: 'Ann', contact_email: 'ann@acme.test', edition: 'pro' },
      headers: { authorization: `Bearer ${serviceToken}` },
    });
    seen.responses.push(registered.text);
    expect(registered.status).toBe(201);
    registryTenantId = registered.json.tenant_id;
    downloadUrl = registered.json.download_url;
    firstCode = await installCodeFromOutbox(controlPlane.url, serviceToken, 'ann@acme.test');
    seen.codes.push(firstCode);
    expect(registered.text).not.toContain(firstCode);

    const download = await fetch(downloadUrl);
    expect(download.status).toBe(200);
    expect(await download.text()).toBe('ISO-BYTES');
    const forged = new URL(downloadUrl);
    forged.searchParams.set('expires', String(Number(forged.searchParams.get('expires')) + 86_400));
    expect((await fetch(forged)).status).toBe(403);
  });

  it('appliance A comes up UNCLAIMED with a 0600 setup token file', async () => {
    expect((await request(`${applianceA.url}/setup/status`)).json).toEqual({ claimed: false });
    const tokenFile = join(applianceA.dataDir, 'setup-token');
    expect(mode(tokenFile)).toBe(0o600);
    seen.setupTokens.push(readFileSync(tokenFile, 'utf8').trim());
    const page = await request(`${applianceA.url}/setup`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('name="install_code"');
    // No inline script: the only script is the host's own theme script, by URL.
    expect(page.text.match(/<script[^>]*>/g)).toEqual(['<script src="/ui/assets/theme.js">']);
  });

  it('claims A with token + install code + password; A adopts the registry tenant id', async () => {
    const token = readFileSync(join(applianceA.dataDir, 'setup-token'), 'utf8').trim();
    const claimed = await claim(applianceA, { token, password, install_code: firstCode, provider_key: providerKey });
    expect(claimed.status).toBe(201);
    expect(claimed.json.tenant_id).toBe(registryTenantId);
    expect(existsSync(join(applianceA.dataDir, 'setup-token'))).toBe(false);

    const cookie = await signIn(applianceA.url, 'admin', password);
    expect(cookie).toBeDefined();
    const license = await request(`${applianceA.url}/api/license`, { headers: { cookie: cookie! } });
    seen.responses.push(license.text);
    expect(license.json).toMatchObject({ tenant_id: registryTenantId, edition: 'pro', status: 'active', licensed: true });
    const me = await request(`${applianceA.url}/api/auth/me`, { headers: { cookie: cookie! } });
    expect(me.json.principal.tenantId).toBe(registryTenantId);
  });

  it('after the claim every /setup/* answers 410 and the /setup page redirects to sign-in', async () => {
    const token = seen.setupTokens[0];
    expect((await request(`${applianceA.url}/setup/status`)).status).toBe(410);
    const replay = await claim(applianceA, { token, password: 'another good passphrase 9' });
    expect(replay.status).toBe(410);
    expect(replay.json.error.code).toBe('E_SETUP_CLAIMED');
    const page = await request(`${applianceA.url}/setup`);
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login');
    expect((await request(`${applianceA.url}/setup`, { form: { token, password: 'x' } })).status).toBe(410);
    const unknown = await fetch(`${applianceA.url}/setup/anything`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(unknown.status).toBe(410);
  });

  it('the used code fails on appliance B with a clear message; B stays UNCLAIMED with nothing half-done', async () => {
    const token = readFileSync(join(applianceB.dataDir, 'setup-token'), 'utf8').trim();
    seen.setupTokens.push(token);
    const refused = await claim(applianceB, { token, password, install_code: firstCode });
    expect(refused.status).toBe(400);
    expect(refused.json.error.code).toBe('E_INSTALL_CODE_CONSUMED');
    expect(refused.json.error.message).toMatch(/re-issue/);
    expect((await request(`${applianceB.url}/setup/status`)).json).toEqual({ claimed: false });
    expect(await signIn(applianceB.url, 'admin', password)).toBeUndefined();
    expect(existsSync(join(applianceB.dataDir, 'setup-token'))).toBe(true);

    const form = await request(`${applianceB.url}/setup`, { form: { token, password, password_confirm: password, install_code: firstCode } });
    expect(form.status).toBe(400);
    expect(form.text).toContain('already been used');
  });

  it('re-issue revokes the old code and mints a new one for the same tenant; B comes back under that tenant', async () => {
    const reissued = await request(`${controlPlane.url}/install-codes/reissue`, { json: { contact_email: 'ann@acme.test' }, headers: { authorization: `Bearer ${serviceToken}` } });
    seen.responses.push(reissued.text);
    expect(reissued.status).toBe(200);
    expect(reissued.json.tenant_id).toBe(registryTenantId);
    const newCode = await installCodeFromOutbox(controlPlane.url, serviceToken, 'ann@acme.test');
    seen.codes.push(newCode);
    expect(newCode).not.toBe(firstCode);

    const token = seen.setupTokens[1];
    const claimed = await claim(applianceB, { token, username: 'ops', password, install_code: newCode.toLowerCase().replaceAll('-', ' ') });
    expect(claimed.status).toBe(201);
    expect(claimed.json.tenant_id).toBe(registryTenantId);
    expect((await request(`${applianceB.url}/setup/claim`, { json: { token, password } })).status).toBe(410);
  });

  it('the download link expires', async () => {
    const expires = Number(new URL(downloadUrl).searchParams.get('expires')) * 1000;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, expires - Date.now() + 1100)));
    const expired = await request(downloadUrl);
    expect(expired.status).toBe(410);
    expect(expired.json.error.code).toBe('E_DOWNLOAD_LINK_EXPIRED');
  });

  it('no secret reached a log line or a response', () => {
    const secretFiles = (dataDir: string) => readdirSync(join(dataDir, 'secrets')).map((file) => readFileSync(join(dataDir, 'secrets', file), 'utf8'));
    const infraValues = [controlPlane, applianceA, applianceB].flatMap((host) =>
      secretFiles(host.dataDir).flatMap((text) => (text.trim().startsWith('{') ? Object.values(JSON.parse(text)).flatMap((v) => (typeof v === 'object' ? Object.values(v as object) : [v])) : [text.trim()])),
    ).filter((value): value is string => typeof value === 'string' && value.length >= 16 && !value.startsWith('ek-') && !value.startsWith('lk-'));
    const pemBodies = infraValues.filter((v) => v.includes('PRIVATE KEY')).map((v) => v.split('\n')[1]);
    const downloadSignature = new URL(downloadUrl).searchParams.get('sig')!;
    const secrets = [password, providerKey, serviceToken, ...seen.codes, ...seen.codes.map((c) => c.replaceAll('-', '')), ...infraValues.filter((v) => !v.includes('PRIVATE KEY')), ...pemBodies];
    expect(secrets.length).toBeGreaterThan(10);

    for (const host of [controlPlane, applianceA, applianceB]) {
      const lines = host.output().split('\n');
      const logLines = lines.filter((line) => line.startsWith('{'));
      expect(logLines.length).toBeGreaterThan(0);
      // The download link's signature is the registrant's to see in the response, never the log's.
      for (const secret of [...secrets, ...seen.setupTokens, downloadSignature]) {
        for (const line of logLines) expect(line.includes(secret), `log line contains a secret: ${line}`).toBe(false);
      }
      // The operator's console shows the setup token (that is its purpose) and nothing else secret.
      for (const secret of secrets) expect(host.output().includes(secret), `output contains a secret`).toBe(false);
    }
    for (const body of seen.responses) {
      for (const secret of [...secrets, ...seen.setupTokens]) expect(body.includes(secret), `response contains a secret: ${body}`).toBe(false);
    }
  });

  it('every secret file is 0600; the provider key and appliance credential are stored encrypted under a key id', async () => {
    for (const host of [controlPlane, applianceA, applianceB]) {
      expect(mode(join(host.dataDir, 'secrets'))).toBe(0o700);
      for (const file of readdirSync(join(host.dataDir, 'secrets'))) expect(mode(join(host.dataDir, 'secrets', file)), file).toBe(0o600);
    }
    expect(mode(join(controlPlane.dataDir, 'license-service-token'))).toBe(0o600);

    await applianceA.stop();
    const raw = readFileSync(join(applianceA.dataDir, 'store', 'data.mdb'));
    for (const secret of [providerKey, password, seen.setupTokens[0]]) expect(raw.includes(Buffer.from(secret))).toBe(false);
    const keyring = loadInfraSecrets(applianceA.dataDir, { profile: 'appliance' }).encryptionKeys;
    const store = openStore(applianceA.dataDir);
    try {
      const sealedKey = store.db<string, string>('setup.provider').get('provider-key')!;
      expect(keyIdOf(sealedKey)).toBe(keyring.activeKeyId);
      expect(decryptString(sealedKey, keyring)).toBe(providerKey);
      const license = store.db<{ credential: string }, string>('appliance.license').get('state')!;
      expect(decryptString(license.credential, keyring)).toMatch(/^alga_a_/);
    } finally {
      await store.close();
    }
  });
});
