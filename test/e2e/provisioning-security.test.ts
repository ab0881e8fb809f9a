import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { coreMigrations } from '../../host/core/core-migrations.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { openStore } from '../../host/core/store.ts';
import { signLicenseToken, toJwks, type LicenseClaims } from '../../host/plugins/license/license-token.ts';
import { installCodeFromOutbox, request, signIn, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';

const run = promisify(execFile);
const password = 'a long and private passphrase 7';
let root: string;
const hosts: HostProcess[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'alga-prov-sec-'));
});
afterAll(async () => {
  await Promise.all(hosts.map((host) => host.stop()));
  rmSync(root, { recursive: true, force: true });
});

async function host(name: string, profile: string, env: Record<string, string> = {}, prepare?: (dataDir: string) => void | Promise<void>): Promise<HostProcess> {
  const dataDir = join(root, name);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await prepare?.(dataDir);
  const started = await startHostProcess({ dataDir, profile, env });
  hosts.push(started);
  return started;
}
const tokenOf = (h: HostProcess) => readFileSync(join(h.dataDir, 'setup-token'), 'utf8').trim();
const claim = (h: HostProcess, body: Record<string, unknown>, headers?: Record<string, string>) => request(`${h.url}/setup/claim`, { json: body, headers });

describe('setup token', () => {
  it('refuses a wrong token, a weak or published password, and then rate-limits with 429 + Retry-After', async () => {
    const h = await host('rate', 'appliance', { ALGA_SETUP_RATE_LIMIT: '10' });
    const wrong = await claim(h, { token: 'A'.repeat(43), password });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('E_SETUP_TOKEN_INVALID');
    const weak = await claim(h, { token: tokenOf(h), password: 'short' });
    expect(weak.json.error.code).toBe('E_PASSWORD_WEAK');
    const sample = /ALGA_ADMIN_PASSWORD=(\S+)/.exec(readFileSync(join(projectRoot, 'examples/appliance/provision.env.example'), 'utf8'))![1];
    const published = await claim(h, { token: tokenOf(h), password: sample });
    expect(published.json.error.code).toBe('E_PASSWORD_WEAK');
    expect((await claim(h, { password })).status).toBe(400);

    let limited;
    for (let i = 0; i < 12 && !limited; i++) {
      const response = await claim(h, { token: `guess-${i}`, password });
      if (response.status === 429) limited = response;
    }
    expect(limited?.json.error.code).toBe('E_SETUP_RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // One budget for every /setup route: the status page is held back too, and the host stays unclaimed.
    expect((await request(`${h.url}/setup/status`)).status).toBe(429);
    expect(await signIn(h.url, 'admin', password)).toBeUndefined();
  });

  it('an expired token is refused even when it is right', async () => {
    const h = await host('ttl', 'appliance', { ALGA_SETUP_TOKEN_TTL_MINUTES: '0.01' });
    const token = tokenOf(h);
    await new Promise((resolve) => setTimeout(resolve, 900));
    const expired = await claim(h, { token, password });
    expect(expired.status).toBe(401);
    expect(expired.json.error.code).toBe('E_SETUP_TOKEN_EXPIRED');
    expect((await request(`${h.url}/setup/status`)).json).toEqual({ claimed: false });
  });

  it('50 simultaneous claims with the right token make exactly one admin', async () => {
    const h = await host('race', 'appliance', { ALGA_SETUP_RATE_LIMIT: '1000' });
    const token = tokenOf(h);
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => claim(h, { token, username: `admin${i}`, password })));
    const winners = results.filter((result) => result.status === 201);
    expect(winners).toHaveLength(1);
    expect(results.filter((result) => result.status !== 201).every((result) => result.status === 410)).toBe(true);
    const winner = winners[0].json.admin.username as string;
    const cookie = await signIn(h.url, winner, password);
    const users = await request(`${h.url}/api/admin/users`, { headers: { cookie: cookie! } });
    expect(users.json.users.filter((user: { role: string }) => user.role === 'admin')).toHaveLength(1);
  });
});

describe('setup network bind', () => {
  it('only LAN clients, with X-Forwarded-For believed from the configured proxy only', async () => {
    const behindProxy = await host('lan-proxy', 'appliance', { ALGA_SETUP_ALLOW: 'lan', ALGA_TRUSTED_PROXIES: '127.0.0.1' });
    expect((await request(`${behindProxy.url}/setup/status`)).status).toBe(403);
    expect((await request(`${behindProxy.url}/setup/status`, { headers: { 'x-forwarded-for': '192.168.1.20' } })).status).toBe(200);
    expect((await request(`${behindProxy.url}/setup/status`, { headers: { 'x-forwarded-for': '192.168.1.20, 203.0.113.9' } })).status).toBe(403);

    const noProxy = await host('lan-direct', 'appliance', { ALGA_SETUP_ALLOW: 'lan', ALGA_TRUSTED_PROXIES: '10.9.9.9' });
    const spoofed = await request(`${noProxy.url}/setup/status`, { headers: { 'x-forwarded-for': '192.168.1.20' } });
    expect(spoofed.status).toBe(403);
    expect(spoofed.json.error.code).toBe('E_SETUP_FORBIDDEN_NETWORK');
    expect((await request(`${noProxy.url}/setup`)).status).toBe(403);

    const loopback = await host('loopback', 'appliance', { ALGA_SETUP_ALLOW: 'loopback' });
    expect((await request(`${loopback.url}/setup/status`)).status).toBe(200);
  });
});

describe('provision.env, existing admins and reset-claim', () => {
  it('provision.env (0600) pre-claims at start and is removed; reset-claim reopens setup with a fresh token', async () => {
    const providerKey = `sk-live-${Date.now()}-provisioned`;
    const h = await host('provisioned', 'appliance', {}, (dataDir) => {
      writeFileSync(join(dataDir, 'provision.env'), `# cloud-init\nALGA_ADMIN_USERNAME=fleet\nALGA_ADMIN_PASSWORD="${password}"\nALGA_PROVIDER_KEY=${providerKey}\n`, { mode: 0o600 });
    });
    expect(existsSync(join(h.dataDir, 'provision.env'))).toBe(false);
    expect(existsSync(join(h.dataDir, 'setup-token'))).toBe(false);
    expect((await request(`${h.url}/setup/status`)).status).toBe(410);
    const cookie = await signIn(h.url, 'fleet', password);
    expect(cookie).toBeDefined();
    const tenantId = (await request(`${h.url}/api/auth/me`, { headers: { cookie: cookie! } })).json.principal.tenantId;
    expect(h.output()).not.toContain(password);
    expect(h.output()).not.toContain(providerKey);
    expect(h.output()).toContain('Claimed from provision.env');

    // Credentials the old owner holds: a session, an admin API token, a license-admin token; and a tenant's token.
    const asAdmin = { cookie: cookie! };
    const adminToken = (await request(`${h.url}/api/admin/tokens`, { json: { kind: 'service', label: 'ops automation', scopes: ['admin'] }, headers: asAdmin })).json.token as string;
    const tenantToken = (await request(`${h.url}/api/admin/tokens`, { json: { kind: 'tenant', tenantId, label: 'ci' }, headers: asAdmin })).json.token as string;
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    expect((await request(`${h.url}/api/admin/users`, { headers: bearer(adminToken) })).status).toBe(200);

    const reset = await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'reset-claim', '--data', h.dataDir], { cwd: projectRoot });
    const token = readFileSync(join(h.dataDir, 'setup-token'), 'utf8').trim();
    expect(reset.stdout).toContain(token);
    expect(reset.stdout).toMatch(/ended 1 session\(s\)/);
    expect(reset.stdout).toMatch(/revoked 1 admin API token\(s\):\n\s+tok_\S+ "ops automation" \(admin\)/);
    expect(reset.stdout).toMatch(/suspended 1 admin account\(s\)[^\n]*\n\s+fleet \(usr_/);
    expect(reset.stdout).not.toContain(adminToken);

    // Nothing issued before the reset acts as an admin any more; a tenant's own token still works.
    expect((await request(`${h.url}/api/auth/me`, { headers: asAdmin })).status).toBe(401);
    expect((await request(`${h.url}/api/admin/users`, { headers: asAdmin })).status).toBe(401);
    expect((await request(`${h.url}/api/admin/users`, { headers: bearer(adminToken) })).status).toBe(401);
    expect(await signIn(h.url, 'fleet', password)).toBeUndefined();
    expect((await request(`${h.url}/api/installs`, { headers: bearer(tenantToken) })).status).toBe(200);

    expect((await request(`${h.url}/setup/status`)).json).toEqual({ claimed: false });
    expect((await claim(h, { token: 'x'.repeat(43), username: 'second', password })).status).toBe(401);
    const reclaimed = await claim(h, { token, username: 'second', password });
    expect(reclaimed.status).toBe(201);
    expect(reclaimed.json.tenant_id).toBe(tenantId);
    expect((await request(`${h.url}/setup/status`)).status).toBe(410);

    // The new admin vouches for the old account, which then signs in again.
    const second = { cookie: (await signIn(h.url, 'second', password))! };
    const fleet = (await request(`${h.url}/api/admin/users`, { headers: second })).json.users.find((user: { username: string }) => user.username === 'fleet');
    expect(fleet.suspendedAt).toEqual(expect.any(String));
    expect((await request(`${h.url}/api/admin/users/${fleet.id}/reactivate`, { method: 'POST', headers: second })).status).toBe(200);
    expect(await signIn(h.url, 'fleet', password)).toBeDefined();
  });

  it('a provision.env readable by others is not applied; the host stays UNCLAIMED', async () => {
    const h = await host('exposed', 'appliance', {}, (dataDir) => {
      writeFileSync(join(dataDir, 'provision.env'), `ALGA_ADMIN_PASSWORD=${password}\n`);
      chmodSync(join(dataDir, 'provision.env'), 0o644);
    });
    expect(h.output()).toContain('E_PROVISION_FILE_MODE');
    expect(h.output()).not.toContain(password);
    expect((await request(`${h.url}/setup/status`)).json).toEqual({ claimed: false });
  });

  it('an existing human admin means CLAIMED (upgrades are a no-op)', async () => {
    const h = await host('upgraded', 'appliance', {}, async (dataDir) => {
      // A host from before the setup plugin: secrets and a store with an admin, no setup state.
      ensureInfraSecrets(dataDir, { profile: 'appliance' });
      const store = openStore(dataDir);
      store.migrate('core', coreMigrations);
      await createAuth({ store, audit: createAuditLog(store) }).createAdmin({ username: 'old-admin', password });
      await store.close();
    });
    expect((await request(`${h.url}/setup/status`)).status).toBe(410);
    expect(existsSync(join(h.dataDir, 'setup-token'))).toBe(false);
    expect(h.output()).not.toContain('UNCLAIMED');
  });
});

describe('install codes against a license service', () => {
  let fake: Server;
  let fakeUrl: string;
  let scenario: (applianceId: string) => Record<string, unknown>;
  const good = generateKeyPairSync('ed25519');
  const evil = generateKeyPairSync('ed25519');
  const jwtFor = (overrides: Partial<LicenseClaims>, key = good.privateKey, kid = 'lk-good', applianceId = '') => {
    const now = Math.floor(Date.now() / 1000);
    return signLicenseToken({ iss: 'fake', sub: 'tnt_fake', aud: applianceId, edition: 'pro', iat: now, exp: now + 3600, ...overrides }, { keyId: kid, privateKey: key });
  };

  beforeAll(async () => {
    fake = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/.well-known/jwks.json') return res.end(JSON.stringify(toJwks([{ keyId: 'lk-good', publicKey: good.publicKey }])));
        if (req.url === '/register') return res.end(JSON.stringify(scenario(JSON.parse(body).appliance_id)));
        res.statusCode = 404;
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => fake.close(() => resolve())));

  it('forged license JWTs (alg none, wrong key, unknown kid, expired, other appliance) block the claim; the host stays UNCLAIMED', async () => {
    const h = await host('forged', 'appliance', { ALGA_LICENSE_SERVICE_URL: fakeUrl });
    const base = { tenant_id: 'tnt_fake', edition: 'pro', company_name: 'Fake', contact_email: 'x@fake.test', appliance_credential: 'alga_a_fake', check_in_url: `${fakeUrl}/checkin` };
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forgeries: Record<string, (id: string) => string> = {
      'alg none': (id) => `${b64({ alg: 'none', kid: 'lk-good' })}.${b64({ sub: 'tnt_fake', aud: id, edition: 'pro', exp: 4102444800 })}.`,
      'wrong key': (id) => jwtFor({}, evil.privateKey, 'lk-good', id),
      'unknown kid': (id) => jwtFor({}, evil.privateKey, 'lk-evil', id),
      expired: (id) => jwtFor({ exp: Math.floor(Date.now() / 1000) - 10 }, good.privateKey, 'lk-good', id),
      'other appliance': () => jwtFor({}, good.privateKey, 'lk-good', 'apl_someone_else'),
    };
    for (const [name, forge] of Object.entries(forgeries)) {
      scenario = (id) => ({ ...base, first_jwt: forge(id) });
      const refused = await claim(h, { token: tokenOf(h), password, install_code: 'ALGA-FAKE' });
      expect(refused.json?.error?.code, name).toBe('E_LICENSE_TOKEN_INVALID');
      expect((await request(`${h.url}/setup/status`)).json, name).toEqual({ claimed: false });
    }
    scenario = (id) => ({ ...base, first_jwt: jwtFor({}, good.privateKey, 'lk-good', id) });
    const accepted = await claim(h, { token: tokenOf(h), password, install_code: 'ALGA-FAKE' });
    expect(accepted.status).toBe(201);
    expect(accepted.json.tenant_id).toBe('tnt_fake');
  });

  it('an unreachable license service blocks the claim with a clear message and never self-generates a tenant', async () => {
    const h = await host('unreachable', 'appliance', { ALGA_LICENSE_SERVICE_URL: 'http://127.0.0.1:9' });
    const refused = await claim(h, { token: tokenOf(h), password, install_code: 'ALGA-ANY' });
    expect(refused.status).toBe(502);
    expect(refused.json.error.code).toBe('E_LICENSE_SERVICE_UNREACHABLE');
    expect((await request(`${h.url}/setup/status`)).json).toEqual({ claimed: false });
    expect(await signIn(h.url, 'admin', password)).toBeUndefined();
  });

  it('paid appliances check in for a fresh JWT; a revoked appliance is refused; /register is rate limited', async () => {
    const cp = await host('cp', 'control-plane', { ALGA_REGISTER_RATE_LIMIT: '4' });
    const serviceToken = readFileSync(join(cp.dataDir, 'license-service-token'), 'utf8').trim();
    const auth = { authorization: `Bearer ${serviceToken}` };
    await request(`${cp.url}/register-tenant`, { json: { company: 'Paid Co', contact_name: 'Pat', contact_email: 'pat@paid.test', edition: 'enterprise' }, headers: auth });
    const code = await installCodeFromOutbox(cp.url, serviceToken, 'pat@paid.test');
    const appliance = await host('paid', 'appliance', { ALGA_LICENSE_SERVICE_URL: cp.url });
    expect((await claim(appliance, { token: tokenOf(appliance), password, install_code: code })).status).toBe(201);
    const cookie = (await signIn(appliance.url, 'admin', password))!;

    const before = (await request(`${appliance.url}/api/license`, { headers: { cookie } })).json;
    expect(before).toMatchObject({ edition: 'enterprise', status: 'active' });
    expect(JSON.stringify(before)).not.toMatch(/alga_a_|eyJ/);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const checked = await request(`${appliance.url}/api/license/checkin`, { method: 'POST', headers: { cookie } });
    expect(checked.json).toMatchObject({ status: 'active', checkin_failures: 0 });
    expect(Date.parse(checked.json.token_expires_at)).toBeGreaterThan(Date.parse(before.token_expires_at));

    expect((await request(`${cp.url}/checkin`, { method: 'POST', headers: { authorization: 'Bearer alga_a_forged' } })).status).toBe(401);
    const revoked = await request(`${cp.url}/appliances/${before.appliance_id}/revoke`, { method: 'POST', headers: auth });
    expect(revoked.status).toBe(200);
    const after = await request(`${appliance.url}/api/license/checkin`, { method: 'POST', headers: { cookie } });
    expect(after.json).toMatchObject({ status: 'revoked', licensed: false, last_checkin_error: 'E_APPLIANCE_REVOKED' });

    let limited;
    for (let i = 0; i < 6 && !limited; i++) {
      const response = await request(`${cp.url}/register`, { json: { claim_code: `ALGA-NOPE-${i}`, appliance_id: 'appliance-guess' } });
      if (response.status === 429) limited = response;
      else expect(response.json.error.reason).toBe('invalid_claim_code');
    }
    expect(limited?.headers.get('retry-after')).toBeTruthy();
  });
});
