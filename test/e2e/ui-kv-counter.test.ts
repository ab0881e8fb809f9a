import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { packedExample, sign, signingFixture } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';
import { SseReader } from '../iframe/sse-client.ts';

/**
 * The kv-counter extension's UI in real headless Chromium: host + runner started by startHost,
 * the example published and installed for a tenant, a tenant user signing in on the login page.
 */
const extensionId = 'com.example.kv-counter';
const password = 'counter user password';

let dir: ReturnType<typeof tempDir>;
let running: RunningHost;
let browser: Browser;
let otherOrigin: Server;
let otherOriginUrl: string;
let tenantBToken: string;
let tenantBDebugToken: string;

async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const ready = await fetch(`${url}/readyz`).then((response) => response.ok, () => false);
    if (ready) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error('the host never became ready');
}

/** The first call loads and compiles the component in the runner; the browser tests start after it. */
async function warmUp(tenantToken: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  let last = '';
  while (Date.now() < deadline) {
    const response = await fetch(`${running.url}/api/ext/${extensionId}/count`, { headers: { authorization: `Bearer ${tenantToken}` } }).catch((error) => error as Error);
    if (response instanceof Response && response.ok) return;
    last = response instanceof Response ? `${response.status} ${await response.text()}` : response.message;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`the kv-counter API never answered through the gateway: ${last}`);
}

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

beforeAll(async () => {
  dir = tempDir('alga-ui-e2e-');
  const fixture = signingFixture('example');
  running = await startHost({
    dataDir: dir.path,
    port: 0,
    plugins: [extensionsPlugin],
    logLevel: process.env.UI_E2E_LOG ?? 'silent',
    env: { ...process.env, SIGNING_TRUST_BUNDLE: fixture.trustBundleJson },
  });
  await waitUntilReady(running.url);

  const auth = running.host.auth;
  auth.createTenant({ id: 'tenant-a', name: 'Tenant A' });
  await auth.createUser({ username: 'ada', password, role: 'member', tenantId: 'tenant-a' });
  const publisherToken = auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  const tenantToken = auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;

  const bundle = packedExample('kv-counter');
  await api('/api/registry/bundles', publisherToken, {
    method: 'POST',
    body: { bundle_b64: Buffer.from(bundle.bytes).toString('base64'), signatures: sign(bundle.bytes, fixture.key) },
  });
  await api('/api/installs', tenantToken, { method: 'POST', body: { extensionId, version: '1.0.0', grants: ['alga.storage'] } });
  await warmUp(tenantToken);

  // Tenant B installs the counter without the storage grant: its calls are denied in the runner.
  auth.createTenant({ id: 'tenant-b', name: 'Tenant B' });
  await auth.createAdmin({ username: 'operator', password });
  tenantBToken = auth.createToken({ kind: 'tenant', tenantId: 'tenant-b' }).token;
  tenantBDebugToken = auth.createToken({ kind: 'tenant', tenantId: 'tenant-b', scopes: ['ext:debug'], label: 'debugger' }).token;
  await api('/api/installs', tenantBToken, { method: 'POST', body: { extensionId, version: '1.0.0', grants: [] } });

  otherOrigin = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>elsewhere</title><p>another site</p>');
  });
  await new Promise<void>((resolve) => otherOrigin.listen(0, '127.0.0.1', resolve));
  otherOriginUrl = `http://127.0.0.1:${(otherOrigin.address() as AddressInfo).port}`;

  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => otherOrigin?.close(resolve));
  await running?.close();
  dir?.remove();
});

async function signIn(page: Page, target: string, username = 'ada'): Promise<void> {
  await page.goto(`${running.url}${target}`);
  await expect.poll(() => new URL(page.url()).pathname).toBe('/login');
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${running.url}${target}`), page.click('button[type=submit]')]);
}

const counter = (page: Page) => page.frameLocator('#ext-frame').locator('#count');

/** What the counter UI shows: the count, or its error line when it has one (so a failure says why). */
async function shownCount(page: Page): Promise<string> {
  const frame = page.frameLocator('#ext-frame');
  const error = (await frame.locator('#error').textContent({ timeout: 2_000 }).catch(() => '')) ?? '';
  return error ? `error: ${error}` : ((await frame.locator('#count').textContent({ timeout: 2_000 }).catch(() => '')) ?? '');
}

describe('kv-counter in the browser', () => {
  it('signs in, increments the counter in the extension UI, and keeps the count across reloads', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await signIn(page, `/ext/${extensionId}`);

    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe('0');
    await page.frameLocator('#ext-frame').locator('#increment').click();
    await expect.poll(() => shownCount(page), { timeout: 15_000 }).toBe('1');
    await page.frameLocator('#ext-frame').locator('#increment').click();
    await expect.poll(() => shownCount(page), { timeout: 15_000 }).toBe('2');

    await page.reload();
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe('2');
    expect(await page.frameLocator('#ext-frame').locator('#error').textContent()).toBe('');

    const menu = page.locator(`nav.menu a[data-extension-id="${extensionId}"]`);
    expect(await menu.textContent()).toBe('Counter');
    expect(await menu.getAttribute('aria-current')).toBe('page');
    expect(pageErrors).toEqual([]);
    await context.close();
  }, 180_000);

  it("embeds the runner's UI by content hash in a sandboxed frame at the install's own origin and themes it", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, `/ext/${extensionId}`);
    const frame = page.locator('#ext-frame');
    const sandbox = (await frame.getAttribute('sandbox'))!.split(' ').sort();
    expect(sandbox).toEqual(['allow-forms', 'allow-same-origin', 'allow-scripts']);
    const src = new URL((await frame.getAttribute('src'))!);
    const runnerPort = new URL(running.runner.publicBaseUrl()!).port;
    const uiOrigin = src.origin;
    expect(src.hostname).toMatch(/^[0-9a-f]{32}\.localhost$/); // a host name of its own: no cookies shared with the host
    expect(src.port).toBe(runnerPort);
    expect(src.pathname).toMatch(new RegExp(`^/ext-ui/${extensionId.replace(/\./g, '\\.')}/sha256%3A[0-9a-f]{64}/[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+/index\\.html$`));
    expect(src.searchParams.get('parentOrigin')).toBe(new URL(running.url).origin);

    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toMatch(/^\d+$/);
    // The UI reports its height (ResizeObserver) and the host sizes the frame to it.
    await expect.poll(() => frame.evaluate((element) => (element as HTMLElement).style.height)).toMatch(/^\d+px$/);
    const uiFrame = page.frames().find((candidate) => candidate.url().startsWith(uiOrigin))!;
    expect(await uiFrame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--alga-primary').trim())).toBe('#1e40af');
    await page.click('#theme-toggle');
    await expect.poll(() => uiFrame.evaluate(() => getComputedStyle(document.documentElement).getPropertyValue('--alga-primary').trim())).toBe('#60a5fa');
    await context.close();
  }, 180_000);

  it('ignores bridge messages that do not come from the extension frame', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, `/ext/${extensionId}`);
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toMatch(/^\d+$/);
    const before = Number(await counter(page).textContent());
    const apiproxy = { alga: true, version: '1', type: 'apiproxy', request_id: 'forged', payload: { path: '/increment', method: 'POST', headers: {} } };

    // Another site opens the host page (the user is signed in there) and posts to it.
    const elsewhere = await context.newPage();
    await elsewhere.goto(otherOriginUrl);
    const popupPromise = context.waitForEvent('page');
    await elsewhere.evaluate((url) => {
      (window as any).opened = window.open(url);
      (window as any).answers = [];
      window.addEventListener('message', (event) => (window as any).answers.push(event.data));
    }, `${running.url}/ext/${extensionId}`);
    const popup = await popupPromise;
    await expect.poll(() => shownCount(popup), { timeout: 60_000 }).toBe(String(before));
    await elsewhere.evaluate((message) => {
      for (let i = 0; i < 3; i += 1) (window as any).opened.postMessage(message, '*');
      (window as any).opened.postMessage({ ...message, type: 'ready' }, '*');
    }, apiproxy);
    // The host page posting to itself is not the extension frame either.
    await page.evaluate((message) => window.postMessage(message, '*'), apiproxy);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await elsewhere.evaluate(() => (window as any).answers)).toEqual([]);
    await page.reload();
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(String(before));
    await context.close();
  }, 180_000);

  it("does not let a page on another origin of the same site act with the user's session", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, `/ext/${extensionId}`);
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toMatch(/^\d+$/);
    const before = await shownCount(page);

    // 127.0.0.1 on another port is the same site: SameSite=Lax alone would send the cookie.
    const elsewhere = await context.newPage();
    await elsewhere.goto(otherOriginUrl);
    const sent = await elsewhere.evaluate(async (url) => {
      const forged = { method: 'POST', credentials: 'include', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: '{"by":5}' } as const;
      // The gateway's answers carry `Cross-Origin-Resource-Policy: same-origin`, so the browser may fail these fetches outright.
      await fetch(url, forged).catch(() => undefined);
      await fetch(url, forged).catch(() => undefined);
      return true;
    }, `${running.url}/api/ext/${extensionId}/increment`);
    expect(sent).toBe(true);

    await page.reload();
    await expect.poll(() => shownCount(page), { timeout: 60_000 }).toBe(before);
    await context.close();
  }, 180_000);

  it("shows a denied host call live on the operator's debug page and in the tenant's debug stream", async () => {
    const stream = await fetch(`${running.url}/api/ext-debug/stream?extensionId=${extensionId}`, { headers: { authorization: `Bearer ${tenantBDebugToken}` } });
    expect(stream.status).toBe(200);
    const events = new SseReader(stream);
    expect((await events.next())?.data).toMatchObject({ tenantId: 'tenant-b', source: 'runner' });

    const context = await browser.newContext();
    const page = await context.newPage();
    await signIn(page, `/ext-debug/${extensionId}?tenantId=tenant-b`, 'operator');
    await expect.poll(() => page.locator('#debug-status').textContent(), { timeout: 30_000 }).toMatch(/^Streaming .* for tenant tenant-b/);

    const denied = await fetch(`${running.url}/api/ext/${extensionId}/count`, { headers: { authorization: `Bearer ${tenantBToken}` } });
    expect(denied.ok).toBe(false);
    const event = await events.next(30_000);
    expect(event).toMatchObject({ event: 'debug', data: { level: 'warn', message: expect.stringMatching(/denied .*storage/) } });
    await events.cancel();

    const row = page.locator('#debug-events tr', { hasText: 'denied' }).first();
    await expect.poll(() => row.textContent().catch(() => ''), { timeout: 30_000 }).toMatch(/storage/);
    expect(await row.getAttribute('data-level')).toBe('warn');

    const member = await browser.newContext();
    const memberPage = await member.newPage();
    await signIn(memberPage, `/ext-debug/${extensionId}`);
    expect(await memberPage.locator('h1').textContent()).toBe('Not allowed');
    await member.close();
    await context.close();
  }, 180_000);
});
