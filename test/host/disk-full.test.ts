import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtensionsApi } from '../../host/plugins/extensions/index.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { faultyStore } from './faulty-store.ts';
import { packedExample, sign, signingFixture } from './signed-bundles.ts';

/**
 * A full disk at the store boundary (every write throws ENOSPC the way lmdb-js does): the host
 * keeps answering what needs no write, answers writes with 507 E_STORAGE_FULL, holds execution-log
 * rows until the disk takes them again, and throws nothing out of its timers. The same on a real
 * full tmpfs: test/e2e/host-disk-full.test.ts.
 */
describe('a full disk at the store boundary', () => {
  const fixture = signingFixture('example');
  const hello = packedExample('hello');
  let runner: Server;
  let h: InProcessHost;
  let disk: { full: boolean };
  let tenantToken: string;
  let publisherToken: string;
  let sessionCookie: string;
  let extensions: ExtensionsApi;

  beforeAll(async () => {
    // Stands in for the runner: every execution answers 200 "hi".
    runner = createServer((request, response) => {
      if (request.url === '/healthz') return response.end('{"status":"ok"}');
      request.resume().on('end', () => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ status: 200, headers: { 'content-type': 'text/plain' }, body_b64: Buffer.from('hi').toString('base64') }));
      });
    });
    await new Promise<void>((resolve) => runner.listen(0, '127.0.0.1', resolve));
    h = await inProcessHost({
      runnerUrl: `http://127.0.0.1:${(runner.address() as AddressInfo).port}`,
      env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson },
      wrapStore: (store) => {
        const faulty = faultyStore(store);
        disk = faulty.disk;
        return faulty.store;
      },
    });
    extensions = h.host.plugin<ExtensionsApi>('extensions')!;
    publisherToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const published = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisherToken), payload: { bundle_b64: Buffer.from(hello.bytes).toString('base64'), signatures: sign(hello.bytes, fixture.key) } });
    expect(published.statusCode).toBe(201);
    h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    tenantToken = h.host.auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tenantToken), payload: { extensionId: 'com.example.hello', config: { greeting_name: 'Ada' } } })).statusCode).toBe(201);
    await h.host.auth.createUser({ username: 'ada', password: 'correct horse battery', role: 'tenant-admin', tenantId: 'acme' });
    const login = await h.host.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ada', password: 'correct horse battery' } });
    expect(login.statusCode).toBe(200);
    sessionCookie = String(login.headers['set-cookie']).split(';')[0];
    for (let i = 0; i < 50 && !h.runner.isReady(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  });
  afterAll(async () => {
    if (disk) disk.full = false;
    await h?.close();
    await new Promise((resolve) => runner?.close(resolve));
  });

  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const call = () => inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tenantToken) });

  it('answers reads and extension calls, refuses writes with 507 E_STORAGE_FULL, and writes again once space returns', async () => {
    disk.full = true;
    try {
      // What needs no write keeps working.
      const called = await call();
      expect(called.statusCode).toBe(200);
      expect(called.body).toBe('hi');
      expect((await inject({ method: 'GET', url: '/api/registry/extensions', headers: bearer(publisherToken) })).statusCode).toBe(200);
      expect((await inject({ method: 'GET', url: '/api/installs', headers: bearer(tenantToken) })).statusCode).toBe(200);
      expect((await inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: sessionCookie } })).statusCode).toBe(200);

      // Every write is refused with the catalog's answer, and leaves nothing half-done.
      const writes = [
        await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'globex', name: 'Globex' } }),
        await inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tenantToken), payload: { config: { greeting_name: 'Bea' } } }),
        await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ada', password: 'correct horse battery' } }),
        await inject({ method: 'POST', url: '/api/admin/tokens', headers: bearer(h.adminToken), payload: { kind: 'tenant', tenantId: 'acme' } }),
      ];
      for (const answer of writes) {
        expect(answer.statusCode).toBe(507);
        expect(answer.json()).toEqual({ error: { code: 'E_STORAGE_FULL', message: expect.stringContaining('disk is full') }, request_id: answer.headers['x-request-id'] });
      }
      expect(h.host.auth.getTenant('globex')).toBeUndefined();
      const install = await inject({ method: 'GET', url: '/api/installs/com.example.hello', headers: bearer(tenantToken) });
      expect(install.json().install.config).toEqual({ greeting_name: 'Ada' });
    } finally {
      disk.full = false;
    }
    const again = await inject({ method: 'POST', url: '/api/admin/tenants', headers: bearer(h.adminToken), payload: { id: 'globex', name: 'Globex' } });
    expect(again.statusCode).toBe(201);
  });

  it('holds execution-log rows while the disk refuses them, shows them meanwhile, and writes them when it takes them again', async () => {
    const { executions } = extensions;
    disk.full = true;
    const ids: string[] = [];
    try {
      for (let i = 0; i < 5; i++) ids.push(String((await call()).headers['x-request-id']));
      expect(executions.flush()).toBe(false); // refused, kept
      const metrics = (await inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^alga_execution_log_pending_rows [1-9]/m);
      // The log still lists them (from memory), newest first.
      const listed = await inject({ method: 'GET', url: '/api/installs/com.example.hello/executions?limit=5', headers: bearer(tenantToken) });
      expect(listed.statusCode).toBe(200);
      expect(listed.json().executions.map((row: { requestId: string }) => row.requestId)).toEqual([...ids].reverse());
    } finally {
      disk.full = false;
    }
    expect(executions.flush()).toBe(true);
    const stored = [...h.store.db<{ requestId: string }, [string, string, number, string]>('ext.executions').getRange({})].map(({ value }) => value.requestId);
    expect(stored).toEqual(expect.arrayContaining(ids));
    expect((await inject({ method: 'GET', url: '/metrics' })).body).toMatch(/^alga_execution_log_pending_rows 0$/m);
  });

  it('keeps its background writers alive: the session sweep and the execution-log timer throw nothing', async () => {
    disk.full = true;
    try {
      await call();
      await expect(h.host.sessionSweep.runNow()).resolves.toBeTypeOf('number');
      // Two ticks of the execution log's once-a-second flush: an uncaught throw there would fail this file.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      expect((await call()).statusCode).toBe(200);
    } finally {
      disk.full = false;
    }
  });

  it('refuses an expired session without needing the write that deletes it', async () => {
    const sessions = h.store.db<{ userId: string; createdAt: string; expiresAt: string }, string>('core.sessions');
    const [{ key, value }] = [...sessions.getRange({})];
    sessions.putSync(key, { ...value, expiresAt: new Date(Date.now() - 1000).toISOString() });
    disk.full = true;
    try {
      const me = await inject({ method: 'GET', url: '/api/auth/me', headers: { cookie: sessionCookie } });
      expect(me.statusCode).toBe(401);
      expect(me.json().error.code).toBe('E_AUTH_REQUIRED');
    } finally {
      disk.full = false;
    }
  });
});
