import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../host/core/http-errors.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth, type HostAuth } from '../../host/core/auth/index.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { registerExtensionUi, type InstalledUi } from '../../host/plugins/extensions/ui/index.ts';
import { uiOriginLabel } from '../../lib/ext-ui/origins.ts';
import { readUiTicket, uiTicketKey } from '../../lib/ext-ui/tickets.ts';

const runnerPublicBase = 'http://127.0.0.1:47999';
const serviceToken = 'runner service token of this test';
/** Where the runner serves an install's UI by default: its own *.localhost name on the runner's port. */
const uiOriginOf = (install: InstalledUi, tenantId = 'tenant-a') => `http://${uiOriginLabel({ tenantId, extensionId: install.extensionId, installId: install.installId })}.localhost:47999`;
const contentHash = `sha256:${'ab'.repeat(32)}`;
const kvCounter: InstalledUi = {
  installId: 'ins_kv',
  extensionId: 'com.example.kv-counter',
  version: '1.0.0',
  contentHash,
  manifest: { name: 'com.example.kv-counter', ui: { iframe: { entry: 'index.html' }, hooks: [{ type: 'menu', label: 'Counter', path: '/' }] } },
};
const sneaky: InstalledUi = {
  installId: 'ins_sneaky',
  extensionId: 'com.example.sneaky',
  version: '2.0.0',
  contentHash,
  manifest: { name: 'com.example.sneaky', ui: { iframe: { entry: 'app/main.html' }, hooks: [{ type: 'menu', label: '<script>alert(1)</script>', path: '/x' }] } },
};
const apiOnly: InstalledUi = { installId: 'ins_hello', extensionId: 'com.example.hello', version: '1.0.0', contentHash, manifest: { name: 'com.example.hello' } };

let dataDir: string;
let store: HostStore;
let auth: HostAuth;
let app: FastifyInstance;
let baseUrl: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'alga-ui-pages-'));
  store = openStore(dataDir);
  auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
  auth.createTenant({ id: 'tenant-b', name: 'Tenant B' });
  await auth.createUser({ username: 'alice', password: 'correct horse battery', role: 'member', tenantId: 'tenant-a' });
  await auth.createUser({ username: 'bob', password: 'another long password', role: 'member', tenantId: 'tenant-b' });
  await auth.createAdmin({ username: 'root', password: 'operator password here' });

  const installsByTenant: Record<string, InstalledUi[]> = { 'tenant-a': [kvCounter, sneaky, apiOnly], 'tenant-b': [] };
  app = Fastify();
  installErrorHandler(app);
  await app.register(cookie, { secret: 'x'.repeat(32) });
  await registerExtensionUi(app, {
    host: {
      auth,
      log: app.log,
      config: { env: {} } as never,
      runner: { publicBaseUrl: () => runnerPublicBase } as never,
      secrets: { runnerServiceToken: serviceToken },
    },
    installs: {
      list: (tenantId) => installsByTenant[tenantId] ?? [],
      get: (tenantId, extensionId) => installsByTenant[tenantId]?.find((install) => install.extensionId === extensionId),
    },
  });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function signIn(username: string, password: string, next = '/ext'): Promise<Response> {
  return fetch(`${baseUrl}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password, next }).toString(),
  });
}

async function sessionCookie(username: string, password: string): Promise<string> {
  const response = await signIn(username, password);
  const setCookie = response.headers.get('set-cookie') ?? '';
  return setCookie.split(';')[0];
}

function pageConfig(html: string): any {
  const match = /<script type="application\/json" id="alga-page-config">([^<]*)<\/script>/.exec(html);
  return match ? JSON.parse(match[1]) : undefined;
}

describe('login', () => {
  it('sends a signed-out visitor to the login page, keeping where they were going', async () => {
    const response = await fetch(`${baseUrl}/ext/com.example.kv-counter`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?next=%2Fext%2Fcom.example.kv-counter');
    const login = await fetch(`${baseUrl}/login?next=%2Fext%2Fcom.example.kv-counter`);
    expect(login.status).toBe(200);
    const html = await login.text();
    expect(html).toContain('<form class="login" method="post" action="/login">');
    expect(html).toContain('value="/ext/com.example.kv-counter"');
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('refuses a wrong password without echoing it, and sets no cookie', async () => {
    const response = await signIn('alice', 'wrong password here');
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    const html = await response.text();
    expect(html).toContain('Wrong username or password.');
    expect(html).not.toContain('wrong password here');
  });

  it('signs in with a session cookie and goes only to a path on this host', async () => {
    const response = await signIn('alice', 'correct horse battery', '/ext/com.example.kv-counter');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/ext/com.example.kv-counter');
    expect(response.headers.get('set-cookie')).toMatch(/^alga_session=.*HttpOnly/i);
    for (const next of ['//evil.test/x', 'https://evil.test/', '/\\evil.test']) {
      const elsewhere = await signIn('alice', 'correct horse battery', next);
      expect(elsewhere.headers.get('location')).toBe('/');
    }
  });

  it('refuses sign-in and sign-out forms posted from another site', async () => {
    const forged = await fetch(`${baseUrl}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.test' },
      body: new URLSearchParams({ username: 'alice', password: 'correct horse battery', next: '/ext' }).toString(),
    });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('set-cookie')).toBeNull();
    const session = await sessionCookie('alice', 'correct horse battery');
    const logout = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session, origin: 'http://evil.test' } });
    expect(logout.status).toBe(403);
    expect((await fetch(`${baseUrl}/ext`, { redirect: 'manual', headers: { cookie: session } })).status).toBe(200);
    const sameSite = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session, origin: baseUrl } });
    expect(sameSite.status).toBe(303);
  });

  it('signs out', async () => {
    const session = await sessionCookie('alice', 'correct horse battery');
    const out = await fetch(`${baseUrl}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie: session } });
    expect(out.status).toBe(303);
    const after = await fetch(`${baseUrl}/ext`, { redirect: 'manual', headers: { cookie: session } });
    expect(after.status).toBe(303);
  });
});

describe('menu and extension page', () => {
  it("lists the tenant's extensions from their ui.hooks, escaped, and none of another tenant's", async () => {
    const alice = await sessionCookie('alice', 'correct horse battery');
    const html = await (await fetch(`${baseUrl}/ext`, { headers: { cookie: alice } })).text();
    expect(html).toContain('<a href="/ext/com.example.kv-counter" data-extension-id="com.example.kv-counter">Counter</a>');
    expect(html).toContain('href="/ext/com.example.sneaky/x"');
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).not.toContain('com.example.hello');

    const bob = await sessionCookie('bob', 'another long password');
    const bobHtml = await (await fetch(`${baseUrl}/ext`, { headers: { cookie: bob } })).text();
    expect(bobHtml).toContain('No extensions installed.');
    const bobPage = await fetch(`${baseUrl}/ext/com.example.kv-counter`, { headers: { cookie: bob } });
    expect(bobPage.status).toBe(404);
  });

  it('embeds the UI from the runner by content hash in a sandboxed frame, under a strict CSP', async () => {
    const alice = await sessionCookie('alice', 'correct horse battery');
    const response = await fetch(`${baseUrl}/ext/com.example.kv-counter`, { headers: { cookie: alice } });
    expect(response.status).toBe(200);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    const uiOrigin = uiOriginOf(kvCounter);
    expect(csp).toContain(`frame-src ${uiOrigin};`);
    expect(csp).toContain("frame-ancestors 'none'");
    const config = pageConfig(await response.text());
    const src = new URL(config.frame.src);
    expect(src.origin).toBe(uiOrigin);
    const [, , extensionId, hash, ticket, entry] = src.pathname.split('/');
    expect([extensionId, decodeURIComponent(hash), entry]).toEqual(['com.example.kv-counter', contentHash, 'index.html']);
    expect(readUiTicket(uiTicketKey(serviceToken), decodeURIComponent(ticket), 'com.example.kv-counter', contentHash)).toMatchObject({ tenantId: 'tenant-a', installId: 'ins_kv', parentOrigin: baseUrl });
    expect(src.searchParams.get('parentOrigin')).toBe(baseUrl);
    expect(config.frame.sandbox.split(' ').sort()).toEqual(['allow-forms', 'allow-same-origin', 'allow-scripts']);
    expect(config.frame.origin).toBe(uiOrigin);
    // Another extension of the same tenant lives at another origin.
    const other = pageConfig(await (await fetch(`${baseUrl}/ext/com.example.sneaky`, { headers: { cookie: alice } })).text());
    expect(other.frame.origin).toBe(uiOriginOf(sneaky));
    expect(other.frame.origin).not.toBe(uiOrigin);
    expect(config.bootstrap).toMatchObject({ tenantId: 'tenant-a', extensionId: 'com.example.kv-counter', version: '1.0.0', contentHash, path: '/' });
  });

  it('passes the path below the extension to the UI and finds nested entries', async () => {
    const alice = await sessionCookie('alice', 'correct horse battery');
    const html = await (await fetch(`${baseUrl}/ext/com.example.sneaky/x/y`, { headers: { cookie: alice } })).text();
    const config = pageConfig(html);
    expect(config.bootstrap.path).toBe('/x/y');
    expect(new URL(config.frame.src).pathname).toMatch(new RegExp(`^/ext-ui/com\\.example\\.sneaky/${encodeURIComponent(contentHash)}/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/app/main\\.html$`));
  });

  it('answers 404 for an extension without a UI or not installed', async () => {
    const alice = await sessionCookie('alice', 'correct horse battery');
    expect((await fetch(`${baseUrl}/ext/com.example.hello`, { headers: { cookie: alice } })).status).toBe(404);
    expect((await fetch(`${baseUrl}/ext/com.example.none`, { headers: { cookie: alice } })).status).toBe(404);
  });

  it('serves the page script as one plain browser script', async () => {
    const response = await fetch(`${baseUrl}/ui/assets/ext-page.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('application/javascript');
    const script = await response.text();
    expect(script).not.toMatch(/^\s*import /m);
    expect(script).toContain('theme_tokens');
    const missing = await fetch(`${baseUrl}/ui/assets/nope.js`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { code: 'E_NOT_FOUND' }, request_id: expect.any(String) });
    expect((await fetch(`${baseUrl}/ui/assets/style.css`)).headers.get('content-type')).toContain('text/css');
  });
});
