import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { startFixture, type RunnerFixture } from './support.ts';

/** GET with the path sent exactly as written (fetch would normalise `..`). */
function rawGet(base: string, path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const outgoing = request({ host: url.hostname, port: url.port, path, method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    outgoing.on('error', reject);
    outgoing.end();
  });
}

describe('runner: ext-ui static files', () => {
  let fixture: RunnerFixture;
  let hash: string;

  beforeAll(async () => {
    fixture = await startFixture();
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('serves the iframe entry and assets with immutable caching, content types and a CSP', async () => {
    const entry = await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/${hash}/`);
    expect(entry.status).toBe(200);
    expect(entry.body).toContain('misbehave UI');
    expect(entry.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(entry.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(entry.headers['content-security-policy']).toContain("default-src 'self'");
    expect(entry.headers['content-security-policy']).toContain("object-src 'none'");
    expect(entry.headers['x-content-type-options']).toBe('nosniff');
    const script = await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/${hash}/app.js`);
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect((await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/${hash}/style.css`)).headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers 404 for an unknown hash or file', async () => {
    const unknownHash = await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/sha256:${'1'.repeat(64)}/index.html`);
    expect(unknownHash.status).toBe(404);
    expect(JSON.parse(unknownHash.body).error.code).toBe('E_RUNNER_UI_NOT_FOUND');
    expect((await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/${hash}/missing.js`)).status).toBe(404);
    expect((await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/not-a-hash/index.html`)).status).toBe(404);
  });

  it('refuses path traversal, plain or encoded, and serves nothing from outside ui/', async () => {
    for (const path of ['../manifest.json', '..%2fmanifest.json', '%2e%2e/manifest.json', 'a/../../component.wasm', '..%5cmanifest.json', './index.html']) {
      const response = await rawGet(fixture.url, `/ext-ui/test.guests.misbehave/${hash}/${path}`);
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.body, path).not.toContain('"capabilities"');
    }
  });
});
