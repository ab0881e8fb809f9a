import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { startFixture, uiRequest, type RunnerFixture } from './support.ts';

/** GET with the path sent exactly as written (fetch would normalise `..`) and the Host header a browser would send. */
function rawGet(base: string, path: string, host?: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, path, method: 'GET', headers: { ...(host ? { host } : {}), ...headers } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

const extensionId = 'test.guests.misbehave';

describe('runner: ext-ui static files', () => {
  let fixture: RunnerFixture;
  let hash: string;
  const get = (options: Partial<Parameters<typeof uiRequest>[1]> = {}, host?: string, headers?: Record<string, string>) => {
    const ui = uiRequest(fixture, { extensionId, hash, ...options });
    return rawGet(fixture.url, ui.path, host ?? ui.host, headers);
  };
  const code = (answer: { body: string }) => JSON.parse(answer.body).error?.code;

  beforeAll(async () => {
    fixture = await startFixture();
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it("serves the entry and assets at the install's own origin, framed only by the host page the ticket names", async () => {
    const entry = await get({ parentOrigin: 'http://127.0.0.1:8080' });
    expect(entry.status).toBe(200);
    expect(entry.body).toContain('misbehave UI');
    expect(entry.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(entry.headers['cache-control']).toMatch(/^private, max-age=\d+, immutable$/);
    const maxAge = Number(/max-age=(\d+)/.exec(entry.headers['cache-control'] as string)![1]);
    expect(maxAge).toBeGreaterThan(6 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    const csp = entry.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain('frame-ancestors http://127.0.0.1:8080;');
    expect(entry.headers['x-content-type-options']).toBe('nosniff');
    expect(entry.headers['cross-origin-resource-policy']).toBe('same-origin');
    const script = await get({ file: 'app.js' });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await get({ file: 'style.css' })).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it("refuses the install's files at any other origin: the runner's own address, another install's or another tenant's", async () => {
    const port = new URL(fixture.url).port;
    const otherInstall = uiRequest(fixture, { extensionId, hash, install: 'another-install' }).host;
    const otherTenant = uiRequest(fixture, { extensionId, hash, tenant: 'tenant-b' }).host;
    const own = uiRequest(fixture, { extensionId, hash }).host;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, otherInstall, otherTenant, own.replace('.localhost', '.localhost.evil.example'), `x${own}`]) {
      const answer = await get({}, host);
      expect({ host, status: answer.status, code: code(answer) }).toEqual({ host, status: 403, code: 'E_RUNNER_UI_LINK_INVALID' });
      expect(answer.body).not.toContain('misbehave UI');
    }
  });

  it('refuses a link the host did not sign for this extension version, an altered one and an expired one', async () => {
    const good = uiRequest(fixture, { extensionId, hash });
    const [, , , , ticket] = good.path.split('/');
    const [payload, signature] = ticket.split('.');
    const forgedPayload = Buffer.from(JSON.stringify({ t: 'tenant-a', i: 'install-tenant-a', o: 'https://evil.example', x: 4102444800 })).toString('base64url');
    const paths = [
      `/ext-ui/${extensionId}/${hash}/index.html`, // no ticket at all (the URL of before)
      `/ext-ui/${extensionId}/${hash}/not-a-ticket/`,
      `/ext-ui/${extensionId}/${hash}/${forgedPayload}.${signature}/`,
      `/ext-ui/${extensionId}/${hash}/${payload}.${signature.slice(0, -2)}AA/`,
      uiRequest({ token: 'another runner token', url: fixture.url }, { extensionId, hash }).path,
      uiRequest(fixture, { extensionId, hash, nowMs: Date.now() - 13 * 3600_000 }).path,
    ];
    for (const path of paths) {
      const answer = await rawGet(fixture.url, path, good.host);
      expect({ path, status: answer.status, code: code(answer) }).toEqual({ path, status: 403, code: 'E_RUNNER_UI_LINK_INVALID' });
    }
    const expired = await rawGet(fixture.url, paths[5], good.host);
    expect(JSON.parse(expired.body).error.message).toContain('expired');
    // A ticket for one extension does not open another's files, even with the same hash in the URL.
    const otherExtension = uiRequest(fixture, { extensionId: 'com.example.other', hash });
    expect((await rawGet(fixture.url, otherExtension.path.replace('com.example.other', extensionId), good.host)).status).toBe(403);
  });

  it('does not serve a script a browser fetches to install as a service worker', async () => {
    const answer = await get({ file: 'app.js' }, undefined, { 'service-worker': 'script' });
    expect(answer.status).toBe(403);
    expect(code(answer)).toBe('E_RUNNER_UI_SERVICE_WORKER');
  });

  it('answers 404 for an unknown hash or file', async () => {
    const unknownHash = await get({ hash: `sha256:${'1'.repeat(64)}`, file: 'index.html' });
    expect(unknownHash.status).toBe(404);
    expect(code(unknownHash)).toBe('E_RUNNER_UI_NOT_FOUND');
    expect((await get({ file: 'missing.js' })).status).toBe(404);
    expect((await get({ hash: 'not-a-hash', file: 'index.html' })).status).toBe(404);
  });

  it('refuses path traversal, plain or encoded, and serves nothing from outside ui/', async () => {
    const base = uiRequest(fixture, { extensionId, hash });
    for (const path of ['../manifest.json', '..%2fmanifest.json', '%2e%2e/manifest.json', 'a/../../component.wasm', '..%5cmanifest.json', './index.html']) {
      const response = await rawGet(fixture.url, `${base.path}${path}`, base.host);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.body, path).not.toContain('"capabilities"');
    }
  });

  it('with RUNNER_UI_ORIGIN set, serves each install only at its name under that template', async () => {
    const configured = await startFixture({ uiOrigin: 'https://{ext}.ext.example.com', workers: 1 });
    try {
      const configuredHash = configured.publish(guestDir('misbehave'));
      const ui = uiRequest(configured, { extensionId, hash: configuredHash, parentHost: 'ext.example.com' });
      expect((await rawGet(configured.url, ui.path, ui.host)).status).toBe(200);
      expect((await rawGet(configured.url, ui.path, ui.host.replace('.ext.example.com', '.localhost'))).status).toBe(403);
    } finally {
      await configured.close();
    }
  });
});
