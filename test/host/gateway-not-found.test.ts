import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlgaError } from '../../lib/errors/index.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { repackedExample, sign, signingFixture } from './signed-bundles.ts';

/**
 * What a caller learns from a gateway 404: the tenant that has the install is told whether the
 * install is disabled, the path is not declared, or the method is not (405 with Allow); any other
 * tenant gets the same plain 404 for an extension it has not installed as for one that does not
 * exist. And a failure an extension reports (SDK guests) lands in the execution log with its cause.
 */
describe('gateway: which 404, and to whom', () => {
  const fixture = signingFixture('example');
  const items = repackedExample('hello', (manifest) => ({
    ...manifest,
    name: 'com.example.items',
    api: { endpoints: [{ method: 'GET', path: '/items/:id' }, { method: 'PUT', path: '/items/:id' }, { method: 'GET', path: '/fail' }] },
  }));
  let runner: Server;
  let h: InProcessHost;
  let owner: string;
  let other: string;

  beforeAll(async () => {
    runner = createServer((request, response) => {
      if (request.url === '/healthz') return response.end('{"status":"ok"}');
      request.resume().on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({
          status: 500,
          headers: { 'content-type': 'application/json' },
          body_b64: Buffer.from('{"error":{"code":"E_EXT_HOST_DENIED","message":"…"}}').toString('base64'),
          execution: { duration_ms: 2, memory_bytes: 1024, egress_bytes: 0, error: { code: 'E_EXT_HOST_DENIED', message: 'HostDeniedError: storage.get: The install was not granted alga.storage.' } },
        }));
      });
    });
    await new Promise<void>((resolve) => runner.listen(0, '127.0.0.1', resolve));
    h = await inProcessHost({ runnerUrl: `http://127.0.0.1:${(runner.address() as AddressInfo).port}`, env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const published = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(items).toString('base64'), signatures: sign(items, fixture.key) } });
    expect(published.statusCode).toBe(201);
    h.host.auth.createTenant({ id: 'owner', name: 'Owner' });
    h.host.auth.createTenant({ id: 'other', name: 'Other' });
    owner = h.host.auth.createToken({ kind: 'tenant', tenantId: 'owner' }).token;
    other = h.host.auth.createToken({ kind: 'tenant', tenantId: 'other' }).token;
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(owner), payload: { extensionId: 'com.example.items' } })).statusCode).toBe(201);
    for (let i = 0; i < 50 && !h.runner.isReady(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => runner?.close(resolve));
  });

  const call = (token: string, method: string, path: string) => h.host.app.inject({ method: method as 'GET', url: `/api/ext/${path}`, headers: bearer(token) });
  const codeOf = async (token: string, method: string, path: string) => {
    const answer = await call(token, method, path);
    return { status: answer.statusCode, code: answer.json().error?.code, allow: answer.headers.allow };
  };

  it('tells the owning tenant "no such path" and "method not allowed" (405 with Allow)', async () => {
    expect(await codeOf(owner, 'GET', 'com.example.items/nothing')).toEqual({ status: 404, code: 'E_EXT_NO_SUCH_PATH', allow: undefined });
    expect((await call(owner, 'GET', 'com.example.items/nothing')).json().error.message).toBe('The extension declares no endpoint for this path (manifest api.endpoints). GET /nothing; it declares GET /items/:id, PUT /items/:id, GET /fail.');
    expect(await codeOf(owner, 'DELETE', 'com.example.items/items/7')).toEqual({ status: 405, code: 'E_EXT_METHOD_NOT_ALLOWED', allow: 'GET, HEAD, PUT' });
    const body = (await call(owner, 'DELETE', 'com.example.items/items/7')).json();
    expect(body).toEqual({ error: { code: 'E_EXT_METHOD_NOT_ALLOWED', message: new AlgaError('E_EXT_METHOD_NOT_ALLOWED').message }, request_id: expect.any(String) });
  });

  it('gives every other tenant one plain 404, for an extension that exists and for one that does not', async () => {
    const installedElsewhere = await call(other, 'GET', 'com.example.items/items/7');
    const nowhere = await call(other, 'GET', 'com.example.nothing/items/7');
    for (const answer of [installedElsewhere, nowhere]) {
      expect(answer.statusCode).toBe(404);
      expect(answer.json().error).toEqual({ code: 'E_EXT_NOT_FOUND', message: 'No such extension for this tenant: it is not installed for this tenant, or does not exist.' });
    }
    expect((await codeOf(other, 'DELETE', 'com.example.items/items/7')).code).toBe('E_EXT_NOT_FOUND');
  });

  it('tells the owning tenant that its install is disabled', async () => {
    expect((await h.host.app.inject({ method: 'PATCH', url: '/api/installs/com.example.items', headers: bearer(owner), payload: { enabled: false } })).statusCode).toBe(200);
    expect(await codeOf(owner, 'GET', 'com.example.items/items/7')).toEqual({ status: 404, code: 'E_EXT_INSTALL_DISABLED', allow: undefined });
    expect((await h.host.app.inject({ method: 'PATCH', url: '/api/installs/com.example.items', headers: bearer(owner), payload: { enabled: true } })).statusCode).toBe(200);
  });

  it('records the failure an extension reports, code and cause, in the execution log', async () => {
    const failed = await call(owner, 'GET', 'com.example.items/fail');
    expect(failed.statusCode).toBe(500);
    const log = await h.host.app.inject({ method: 'GET', url: '/api/installs/com.example.items/executions', headers: bearer(owner) });
    const row = log.json().executions.find((entry: { requestId: string }) => entry.requestId === failed.headers['x-request-id']);
    expect(row).toMatchObject({ status: 500, error: 'E_EXT_HOST_DENIED', cause: 'HostDeniedError: storage.get: The install was not granted alga.storage.' });
  });
});
