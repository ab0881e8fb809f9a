import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';

describe('host auth: admin API, tokens, sessions, audit', () => {
  let h: InProcessHost;
  beforeAll(async () => {
    h = await inProcessHost();
  });
  afterAll(async () => h?.close());

  const inject = (options: InjectOptions) => h.host.app.inject(options);

  it('refuses the admin API without credentials, with a bad token, and with a tenant token', async () => {
    expect((await inject({ method: 'GET', url: '/api/admin/tenants' })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: '/api/admin/tenants', headers: bearer('alga_t_nope') })).statusCode).toBe(401);
    await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'acme', name: 'Acme' } });
    const created = await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'tenant', tenantId: 'acme' } });
    const tenantToken = created.json().token as string;
    const denied = await inject({ method: 'GET', url: '/api/admin/tenants', headers: bearer(tenantToken) });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().error.code).toBe('E_AUTH_FORBIDDEN');
  });

  it('creates tenants, users and tokens; shows a token once and stores only its hash', async () => {
    const tenant = await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'globex', name: 'Globex' } });
    expect(tenant.statusCode).toBe(201);
    const again = await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'globex', name: 'Globex' } });
    expect(again.statusCode).toBe(409);
    const token = await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'tenant', tenantId: 'globex', label: 'ci' } });
    expect(token.statusCode).toBe(201);
    const { token: secret, record } = token.json();
    expect(secret).toMatch(/^alga_t_/);
    const listed = await inject({ method: 'GET', url: '/api/admin/tokens?tenantId=globex', headers: bearer(h.adminToken) });
    expect(listed.body).not.toContain(secret);
    expect(listed.json().tokens.map((t: { id: string }) => t.id)).toContain(record.id);
    const me = await inject({ method: 'GET', url: '/api/auth/me', headers: bearer(secret) });
    expect(me.json().principal).toMatchObject({ kind: 'token', tenantId: 'globex' });
    const revoked = await inject({ method: 'DELETE', url: `/api/admin/tokens/${record.id}`, headers: bearer(h.adminToken) });
    expect(revoked.statusCode).toBe(200);
    expect((await inject({ method: 'GET', url: '/api/auth/me', headers: bearer(secret) })).statusCode).toBe(401);
    const unknownTenant = await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'tenant', tenantId: 'nobody' } });
    expect(unknownTenant.json().error.code).toBe('E_TENANT_UNKNOWN');
  });

  it('signs a user in with a password: signed session cookie, wrong password refused, logout ends it', async () => {
    await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'initech', name: 'Initech' } });
    const short = await inject({ method: 'POST', url: '/api/admin/users', headers: bearer(h.adminToken), payload: { username: 'peter', password: 'short', role: 'member', tenantId: 'initech' } });
    expect(short.json().error.code).toBe('E_PASSWORD_TOO_SHORT');
    const noTenant = await inject({ method: 'POST', url: '/api/admin/users', headers: bearer(h.adminToken), payload: { username: 'drifter', password: 'correct horse battery', role: 'member' } });
    expect(noTenant.statusCode).toBe(400);
    expect(noTenant.json().error.code).toBe('E_REQUEST_INVALID');
    expect(h.host.auth.listUsers().map((u) => u.username)).not.toContain('drifter');
    const user = await inject({ method: 'POST', url: '/api/admin/users', headers: bearer(h.adminToken), payload: { username: 'peter', password: 'correct horse battery', role: 'member', tenantId: 'initech' } });
    expect(user.statusCode).toBe(201);
    expect(user.body).not.toContain('scrypt');

    const wrong = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'peter', password: 'incorrect horse battery' } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['set-cookie']).toBeUndefined();

    const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'peter', password: 'correct horse battery' } });
    expect(login.statusCode).toBe(200);
    const cookie = login.cookies.find((c) => c.name === 'alga_session')!;
    expect(cookie.httpOnly).toBe(true);
    const me = await inject({ method: 'GET', url: '/api/auth/me', cookies: { alga_session: cookie.value } });
    expect(me.json().principal).toMatchObject({ kind: 'user', name: 'peter', tenantId: 'initech', role: 'member' });

    const [id] = cookie.value.split('.');
    const forged = await inject({ method: 'GET', url: '/api/auth/me', cookies: { alga_session: `${id}.AAAA` } });
    expect(forged.statusCode).toBe(401);

    await inject({ method: 'POST', url: '/api/auth/logout', cookies: { alga_session: cookie.value } });
    expect((await inject({ method: 'GET', url: '/api/auth/me', cookies: { alga_session: cookie.value } })).statusCode).toBe(401);
  });

  it('ignores the session cookie on a state-changing request from another origin (an extension UI, another site)', async () => {
    await inject({ method: 'POST', url: '/api/admin/users', headers: bearer(h.adminToken), payload: { username: 'milton', password: 'red stapler forever', role: 'tenant-admin', tenantId: 'initech' } });
    const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'milton', password: 'red stapler forever' } });
    const cookies = { alga_session: login.cookies.find((c) => c.name === 'alga_session')!.value };
    const write = (headers: Record<string, string>) => inject({ method: 'POST', url: '/api/installs', headers: { host: 'host.test:8080', ...headers }, cookies, payload: { extensionId: 'com.example.none' } });
    for (const headers of <Record<string, string>[]>[{ 'sec-fetch-site': 'same-site' }, { 'sec-fetch-site': 'cross-site' }, { origin: 'http://host.test:9090' }, { origin: 'null' }]) {
      const refused = await write(headers);
      expect(refused.statusCode).toBe(401);
      expect(refused.json().error.code).toBe('E_AUTH_REQUIRED');
    }
    // The same cookie works from the host's own pages, from non-browser clients, and for reads.
    for (const headers of <Record<string, string>[]>[{ 'sec-fetch-site': 'same-origin' }, { origin: 'http://host.test:8080' }, {}]) {
      expect((await write(headers)).json().error.code).toBe('E_REGISTRY_NOT_FOUND');
    }
    const read = await inject({ method: 'GET', url: '/api/auth/me', headers: { 'sec-fetch-site': 'cross-site' }, cookies });
    expect(read.json().principal).toMatchObject({ name: 'milton' });
  });

  it('over HTTPS names the session cookie __Host-alga_session (Secure, Path=/, no Domain) and ignores the bare name there', async () => {
    const proxied = await inProcessHost({ env: { ALGA_TRUSTED_PROXIES: '127.0.0.1' } });
    try {
      proxied.host.auth.createTenant({ id: 'acme', name: 'Acme' });
      await proxied.host.auth.createUser({ username: 'wile', password: 'a long password for wile', role: 'member', tenantId: 'acme' });
      const https = { 'x-forwarded-proto': 'https' };
      const login = await proxied.host.app.inject({ method: 'POST', url: '/api/auth/login', headers: https, payload: { username: 'wile', password: 'a long password for wile' } });
      expect(login.cookies.map((cookie) => cookie.name)).toEqual(['__Host-alga_session']);
      const [cookie] = login.cookies;
      expect(cookie).toMatchObject({ path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
      expect(cookie.domain).toBeUndefined();
      const me = (cookies: Record<string, string>, headers: Record<string, string> = https) => proxied.host.app.inject({ method: 'GET', url: '/api/auth/me', headers, cookies });
      expect((await me({ '__Host-alga_session': cookie.value })).json().principal).toMatchObject({ name: 'wile' });
      // Anyone on a sibling host name can set a bare `alga_session` for the shared parent domain; over HTTPS it counts for nothing.
      expect((await me({ alga_session: cookie.value })).statusCode).toBe(401);
      const out = await proxied.host.app.inject({ method: 'POST', url: '/api/auth/logout', headers: https, cookies: { '__Host-alga_session': cookie.value } });
      expect(out.cookies).toEqual([expect.objectContaining({ name: '__Host-alga_session', value: '', secure: true, path: '/' })]);

      const plain = await proxied.host.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'wile', password: 'a long password for wile' } });
      expect(plain.cookies.map((each) => [each.name, each.secure ?? false])).toEqual([['alga_session', false]]);
    } finally {
      await proxied.close();
    }
  });

  it('takes no session from a request that carries the session cookie twice (one of them planted by a neighbour)', async () => {
    const login = async (username: string, password: string) => {
      const answer = await inject({ method: 'POST', url: '/api/auth/login', payload: { username, password } });
      return answer.cookies.find((c) => c.name === 'alga_session')!.value;
    };
    const milton = await login('milton', 'red stapler forever');
    const peter = await login('peter', 'correct horse battery');
    const me = (cookie: string) => inject({ method: 'GET', url: '/api/auth/me', headers: { cookie } });
    expect((await me(`alga_session=${milton}`)).json().principal).toMatchObject({ name: 'milton' });
    for (const cookie of [`alga_session=${peter}; alga_session=${milton}`, `other=1; alga_session=${milton};alga_session=${milton}`]) {
      const answer = await me(cookie);
      expect(answer.statusCode).toBe(401);
    }
  });

  it('refuses an expired session and an expired token with 401', async () => {
    const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'milton', password: 'red stapler forever' } });
    const cookies = { alga_session: login.cookies.find((c) => c.name === 'alga_session')!.value };
    expect((await inject({ method: 'GET', url: '/api/auth/me', cookies })).statusCode).toBe(200);
    const sessions = h.store.db<{ userId: string; createdAt: string; expiresAt: string }, string>('core.sessions');
    for (const { key, value } of [...sessions.getRange({})]) sessions.putSync(key, { ...value, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const expired = await inject({ method: 'GET', url: '/api/auth/me', cookies });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('E_AUTH_REQUIRED');

    const { token, record } = h.host.auth.createToken({ kind: 'tenant', tenantId: 'initech', expiresAt: new Date(Date.now() + 60_000).toISOString() });
    expect((await inject({ method: 'GET', url: '/api/installs', headers: bearer(token) })).statusCode).toBe(200);
    const tokens = h.store.db<{ id: string; expiresAt?: string }, string>('core.tokens');
    for (const { key, value } of [...tokens.getRange({})]) if (value.id === record.id) tokens.putSync(key, { ...value, expiresAt: new Date(Date.now() - 1000).toISOString() });
    const stale = await inject({ method: 'GET', url: '/api/installs', headers: bearer(token) });
    expect(stale.statusCode).toBe(401);
    expect(stale.json().error.code).toBe('E_AUTH_REQUIRED');
  });

  it('refuses a token expiry that is not an ISO date or not in the future with 400 E_TOKEN_EXPIRY_INVALID, creating nothing', async () => {
    const tokenIds = async () => (await inject({ method: 'GET', url: '/api/admin/tokens', headers: bearer(h.adminToken) })).json().tokens.map((t: { id: string }) => t.id);
    const before = await tokenIds();
    for (const expiresAt of [new Date(Date.now() - 1000).toISOString(), '2020-01-01', 'tomorrow', 'March 7, 2099', '2099-02-31', '']) {
      const refused = await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'service', label: 'short-lived', expiresAt } });
      expect(refused.statusCode, expiresAt).toBe(400);
      expect(refused.json().error.code, expiresAt).toBe('E_TOKEN_EXPIRY_INVALID');
      expect(refused.json().error.message).toMatch(/^A token's expiry must be an ISO 8601 date in the future/);
    }
    expect(await tokenIds()).toEqual(before);

    const expiresAt = '2099-01-31T12:00:00+01:00';
    const created = await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'service', label: 'long-lived', expiresAt } });
    expect(created.statusCode).toBe(201);
    expect(created.json().record.expiresAt).toBe('2099-01-31T11:00:00.000Z');
    expect((await inject({ method: 'GET', url: '/api/auth/me', headers: bearer(created.json().token) })).statusCode).toBe(200);
  });

  it('checks credentials before reading or validating an admin body', async () => {
    const anonymous = await inject({ method: 'POST', url: '/api/admin/users', headers: { 'content-type': 'application/json' }, payload: '{"bad":' });
    expect(anonymous.statusCode).toBe(401);
    const invalidAnonymous = await inject({ method: 'POST', url: '/api/admin/users', payload: { bad: 1 } });
    expect(invalidAnonymous.statusCode).toBe(401);
    expect(invalidAnonymous.body).not.toContain('username');
  });

  it('keeps an audit log of security actions, without secrets', async () => {
    const audit = await inject({ method: 'GET', url: '/api/admin/audit?limit=200', headers: bearer(h.adminToken) });
    const entries = audit.json().entries as { action: string; outcome: string }[];
    const actions = new Set(entries.map((entry) => `${entry.action}:${entry.outcome}`));
    for (const expected of ['tenant.created:ok', 'token.created:ok', 'token.revoked:ok', 'user.created:ok', 'auth.password:denied', 'session.started:ok', 'session.ended:ok', 'auth.denied:denied']) {
      expect(actions).toContain(expected);
    }
    expect(audit.body).not.toContain('correct horse battery');
    expect(audit.body).not.toMatch(/alga_[tps]_/);
  });

  it('reports a human admin once one exists', async () => {
    expect(h.host.auth.hasHumanAdmin()).toBe(false);
    await h.host.auth.createAdmin({ username: 'root', password: 'a long admin password' });
    expect(h.host.auth.hasHumanAdmin()).toBe(true);
    expect(await h.host.auth.verifyPassword('root', 'a long admin password')).toMatchObject({ role: 'admin' });
    expect(await h.host.auth.verifyPassword('nobody', 'a long admin password')).toBeUndefined();
  });

  it('rate-limits password attempts per address with 429 and Retry-After', async () => {
    const attempts = [];
    for (let i = 0; i < 12; i++) attempts.push(await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'nobody', password: 'wrong password here' } }));
    const limited = attempts.find((answer) => answer.statusCode === 429);
    expect(limited?.json().error.code).toBe('E_RATE_LIMITED');
    expect(Number(limited?.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('answers malformed and invalid bodies with 400 E_REQUEST_INVALID (415 E_REQUEST_MEDIA_TYPE for a type it does not read), keeping the server up', async () => {
    const malformed = await inject({ method: 'POST', url: '/api/admin/tenants', headers: { ...bearer(h.adminToken), 'content-type': 'application/json' }, payload: '{"name":' });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().error.code).toBe('E_REQUEST_INVALID');
    const invalid = await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { name: 5, extra: true } });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().error.code).toBe('E_REQUEST_INVALID');
    const wrongType = await inject({ method: 'POST', url: '/api/admin/tenants', headers: { ...bearer(h.adminToken), 'content-type': 'application/x-unknown' }, payload: 'x' });
    expect([wrongType.statusCode, wrongType.json().error.code]).toEqual([415, 'E_REQUEST_MEDIA_TYPE']);
    for (const url of ['/api/admin/audit?limit=abc', '/api/admin/audit?limit=0', '/api/admin/audit?since=yesterday']) {
      const badQuery = await inject({ method: 'GET', url, headers: bearer(h.adminToken) });
      expect(badQuery.statusCode).toBe(400);
      expect(badQuery.json().error.code).toBe('E_REQUEST_INVALID');
    }
    const badUrl = await inject({ method: 'GET', url: '/api/installs/%ZZ', headers: bearer(h.adminToken) });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.json()).toMatchObject({ error: { code: 'E_REQUEST_INVALID' }, request_id: badUrl.headers['x-request-id'] });
    expect((await inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
