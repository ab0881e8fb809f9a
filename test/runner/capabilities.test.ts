import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSecrets } from '../../lib/sealed-secrets.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type CallOptions, type RunnerFixture } from './support.ts';

const allGrants = ['alga.storage', 'alga.http', 'alga.secrets', 'alga.log', 'alga.metrics', 'alga.ui_proxy'];

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    handler!(request, response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, hits })));
}

describe('runner: host capabilities', () => {
  let fixture: RunnerFixture;
  let hash: string;
  const call = async (options: Omit<CallOptions, 'hash'>) => {
    const { status, json } = await fixture.execute(executeBody({ hash, providers: allGrants, ...options }));
    expect(status).toBe(200);
    return { guest: guestJson(json), execution: json.execution };
  };

  beforeAll(async () => {
    fixture = await startFixture({ limits: { maxStorageKeys: 5, maxStorageBytes: 4096 } });
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  describe('storage', () => {
    it('keeps values per tenant: tenant A cannot read tenant B\'s keys', async () => {
      expect((await call({ path: '/storage/put', method: 'POST', query: 'key=colour', body: 'blue', tenant: 'tenant-b' })).guest).toEqual({ ok: true });
      expect((await call({ path: '/storage/get', query: 'key=colour', tenant: 'tenant-b' })).guest).toEqual({ ok: true, value: 'blue' });
      expect((await call({ path: '/storage/get', query: 'key=colour', tenant: 'tenant-a' })).guest).toEqual({ ok: true, value: null });
      expect((await call({ path: '/storage/list', query: 'prefix=', tenant: 'tenant-a' })).guest).toEqual({ ok: true, value: { keys: [], cursor: null } });
    });

    it('lists by prefix in key order with a cursor, and deletes', async () => {
      for (const key of ['item:3', 'item:1', 'item:2', 'other']) await call({ path: '/storage/put', method: 'POST', query: `key=${key}`, body: key, tenant: 'tenant-list' });
      const first = (await call({ path: '/storage/list', query: 'prefix=item:&limit=2', tenant: 'tenant-list' })).guest;
      expect(first.value).toEqual({ keys: ['item:1', 'item:2'], cursor: 'item:2' });
      const second = (await call({ path: '/storage/list', query: `prefix=item:&limit=2&cursor=${first.value.cursor}`, tenant: 'tenant-list' })).guest;
      expect(second.value).toEqual({ keys: ['item:3'], cursor: null });
      expect((await call({ path: '/storage/delete', method: 'POST', query: 'key=item:1', tenant: 'tenant-list' })).guest).toEqual({ ok: true, value: true });
      expect((await call({ path: '/storage/delete', method: 'POST', query: 'key=item:1', tenant: 'tenant-list' })).guest).toEqual({ ok: true, value: false });
    });

    it('answers limit once the key-count or byte quota is reached, and keeps what was stored', async () => {
      for (let index = 0; index < 5; index++) {
        expect((await call({ path: '/storage/put', method: 'POST', query: `key=k${index}`, body: 'x', tenant: 'tenant-quota' })).guest.ok).toBe(true);
      }
      const refused = (await call({ path: '/storage/put', method: 'POST', query: 'key=k5', body: 'x', tenant: 'tenant-quota' })).guest;
      expect(refused).toMatchObject({ ok: false, error: 'limit' });
      const tooBig = (await call({ path: '/storage/put', method: 'POST', query: 'key=k0', body: 'y'.repeat(5000), tenant: 'tenant-quota' })).guest;
      expect(tooBig).toMatchObject({ ok: false, error: 'limit' });
      expect((await call({ path: '/storage/get', query: 'key=k0', tenant: 'tenant-quota' })).guest).toEqual({ ok: true, value: 'x' });
    });
  });

  describe('secrets', () => {
    it('opens the sealed envelope only when alga.secrets is granted', async () => {
      const envelope = sealSecrets({ api_key: 'sk-live-123' }, fixture.runnerKeys.publicKey);
      const granted = await call({ path: '/secret', query: 'name=api_key', secretEnvelope: envelope, requestId: 'req-secret' });
      expect(granted.guest).toEqual({ ok: true, value: 'sk-live-123' });
      const missing = await call({ path: '/secret', query: 'name=other', secretEnvelope: envelope });
      expect(missing.guest).toEqual({ ok: true, value: null });
      const denied = await call({ path: '/secret', query: 'name=api_key', secretEnvelope: envelope, providers: ['alga.log'] });
      expect(denied.guest).toMatchObject({ ok: false, error: 'denied' });
      const events = JSON.stringify(fixture.runner.events.recent());
      expect(events).not.toContain('sk-live-123');
    });

    it('opens secrets sealed one by one (the host seals each install secret on its own); a later envelope wins', async () => {
      const older = sealSecrets({ api_key: 'sk-old', region: 'eu' }, fixture.runnerKeys.publicKey);
      const each = [sealSecrets({ api_key: 'sk-new' }, fixture.runnerKeys.publicKey), sealSecrets({ webhook: 'wh-1' }, fixture.runnerKeys.publicKey)];
      const read = async (name: string) => (await call({ path: '/secret', query: `name=${name}`, secretEnvelope: older, secretEnvelopes: each })).guest;
      expect(await read('api_key')).toEqual({ ok: true, value: 'sk-new' });
      expect(await read('region')).toEqual({ ok: true, value: 'eu' });
      expect(await read('webhook')).toEqual({ ok: true, value: 'wh-1' });
      const refused = await fixture.execute(executeBody({ hash, providers: allGrants, path: '/secret', secretEnvelopes: { not: 'a list' } as unknown as unknown[] }));
      expect(refused).toMatchObject({ status: 400, json: { error: { code: 'E_RUNNER_BAD_REQUEST' } } });
    });

    it('reports unavailable for an envelope sealed to another key', async () => {
      const foreign = sealSecrets({ api_key: 'x' }, Buffer.alloc(32, 7).toString('base64'));
      expect((await call({ path: '/secret', query: 'name=api_key', secretEnvelope: foreign })).guest).toMatchObject({ ok: false, error: 'unavailable' });
    });
  });

  describe('http egress', () => {
    it('refuses a host that is not on both allowlists', async () => {
      const notInstall = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://example.invalid/')}`, egress: [] });
      expect(notInstall.guest).toMatchObject({ ok: false, error: 'denied' });
      expect(notInstall.guest.message).toContain("install's egress list");
      const notManifest = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://api.example.com/')}`, egress: ['api.example.com'] });
      expect(notManifest.guest).toMatchObject({ ok: false, error: 'denied' });
      expect(notManifest.guest.message).toContain("extension's egress list");
      expect(notManifest.execution.denials[0].capability).toBe('alga.http');
    });

    it('refuses 127.0.0.1 and names that resolve to loopback, even when allowlisted', async () => {
      const target = await listen((_request, response) => response.end('secret internal page'));
      try {
        for (const host of ['127.0.0.1', 'localhost']) {
          const result = await call({ path: '/fetch', query: `url=${encodeURIComponent(`http://${host}:${target.port}/internal`)}`, egress: ['127.0.0.1', 'localhost'] });
          expect(result.guest).toMatchObject({ ok: false, error: 'denied' });
          expect(result.guest.message).toMatch(/loopback, link-local or private/);
          expect(result.guest.message).toMatch(new RegExp(`^${host} resolves to (127\\.0\\.0\\.1 \\(127\\.0\\.0\\.0/8, loopback\\)|::1 \\(::1, loopback\\))`));
          expect(result.guest.message).toContain('RUNNER_EGRESS_ALLOW_PRIVATE=1');
        }
        expect(target.hits).toEqual([]);
      } finally {
        target.server.close();
      }
    });

    it('says why a name does not resolve', async () => {
      const result = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://example.invalid/')}`, egress: ['example.invalid'] });
      expect(result.guest).toMatchObject({ ok: false, error: 'unavailable' });
      expect(result.guest.message).toMatch(/^example\.invalid could not be resolved: (DNS has no such name \(ENOTFOUND\)|the DNS resolver did not answer)/);
    });

    it('fetches from an allowlisted local server when the operator allows private egress, counting bytes and capping size', async () => {
      const permissive = await startFixture({ egressAllowPrivate: true, limits: { maxEgressBytes: 10_000 } });
      const target = await listen((request, response) => response.end(request.url === '/big' ? 'z'.repeat(20_000) : 'pong from local'));
      try {
        const localHash = permissive.publish(guestDir('misbehave'));
        const fetchPath = async (path: string) => {
          const { status, json } = await permissive.execute(
            executeBody({ hash: localHash, path: '/fetch', query: `url=${encodeURIComponent(`http://127.0.0.1:${target.port}${path}`)}`, providers: ['alga.http'], egress: ['127.0.0.1'] }),
          );
          expect(status).toBe(200);
          return json;
        };
        const ok = await fetchPath('/ping');
        expect(guestJson(ok)).toEqual({ ok: true, value: { status: 200, body: 'pong from local' } });
        expect(ok.execution.egress_bytes).toBe('pong from local'.length);
        const big = await fetchPath('/big');
        expect(guestJson(big)).toMatchObject({ ok: false, error: 'limit' });
        expect(target.hits).toEqual(['GET /ping', 'GET /big']);

        // Entries with a port reach that port only; [IPv6] entries match the address however it is written.
        const other = await listen((_request, response) => response.end('other port'));
        const v6 = createServer((_request, response) => response.end('pong over IPv6'));
        await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
        const v6Port = (v6.address() as AddressInfo).port;
        try {
          const fetchUrl = async (url: string, egress: string[]) => {
            const { json } = await permissive.execute(executeBody({ hash: localHash, path: '/fetch', query: `url=${encodeURIComponent(url)}`, providers: ['alga.http'], egress }));
            return guestJson(json);
          };
          const portEntry = [`127.0.0.1:${target.port}`];
          expect(await fetchUrl(`http://127.0.0.1:${target.port}/ping`, portEntry)).toEqual({ ok: true, value: { status: 200, body: 'pong from local' } });
          const elsewhere = await fetchUrl(`http://127.0.0.1:${other.port}/ping`, portEntry);
          expect(elsewhere).toMatchObject({ ok: false, error: 'denied' });
          expect(elsewhere.message).toContain(`127.0.0.1:${other.port} is not in the install's egress list`);
          expect(other.hits).toEqual([]);
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, [`[0:0::1]:${v6Port}`])).toEqual({ ok: true, value: { status: 200, body: 'pong over IPv6' } });
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, ['[::1]'])).toEqual({ ok: true, value: { status: 200, body: 'pong over IPv6' } });
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, [`[::1]:${v6Port + 1}`])).toMatchObject({ ok: false, error: 'denied' });
        } finally {
          other.server.close();
          v6.close();
        }
      } finally {
        target.server.close();
        await permissive.close();
      }
    });
  });

  describe('logging, metrics and ui-proxy', () => {
    it('tags guest logs with tenant, extension and request id, and exports guest metrics', async () => {
      const result = await call({ path: '/log', query: 'message=checkout%20done', requestId: 'req-log', tenant: 'tenant-log' });
      expect(result.guest).toEqual({ log: { ok: true }, counter: { ok: true }, histogram: { ok: true } });
      const event = fixture.runner.events.recent({ tenant: 'tenant-log' }).find((entry) => entry.stream === 'log' && entry.request === 'req-log');
      expect(event).toMatchObject({ level: 'info', tenant: 'tenant-log', extension: 'ext-test', message: 'checkout done {"route":"/log"}' });
      const metrics = await (await fetch(`${fixture.url}/metrics`)).text();
      expect(metrics).toContain('runner_guest_counter_total{extension="ext-test",name="probe_calls",labels="route=/log"} 1');
      expect(metrics).toMatch(/runner_guest_log_events_total\{level="info"\} [1-9]/);
    });

    it('denies logging without the grant', async () => {
      const result = await call({ path: '/log', providers: [] });
      expect(result.guest.log).toMatchObject({ ok: false, error: 'denied' });
      expect(result.guest.counter).toMatchObject({ ok: false, error: 'denied' });
    });

    it('calls the configured host route through ui-proxy only when granted', async () => {
      const host = await listen((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => response.end(`host saw ${request.headers['x-alga-tenant']} ${request.headers.authorization} ${body}`));
      });
      const proxied = await startFixture({ uiProxy: { baseUrl: `http://127.0.0.1:${host.port}`, authKey: 'proxy-key' } });
      try {
        const proxyHash = proxied.publish(guestDir('misbehave'));
        const request = (providers: string[]) =>
          proxied.execute(executeBody({ hash: proxyHash, path: '/ui-proxy', method: 'POST', query: 'route=tickets/list', body: 'hi', providers, uiProxy: { route_base: '/api/ui' } }));
        const granted = await request(['alga.ui_proxy']);
        expect(guestJson(granted.json)).toEqual({ ok: true, value: 'host saw tenant-a Bearer proxy-key hi' });
        expect(host.hits).toEqual(['POST /api/ui/tickets/list']);
        const denied = await request([]);
        expect(guestJson(denied.json)).toMatchObject({ ok: false, error: 'denied' });
        expect(host.hits).toHaveLength(1);
      } finally {
        host.server.close();
        await proxied.close();
      }
    });

    it('answers limit when the host route answers more than the response limit, without reading it all', async () => {
      const chunk = Buffer.alloc(64 * 1024, 'z');
      const routeSize = 256 * 1048576;
      let streamed: Promise<{ sent: number; finished: boolean }> = Promise.resolve({ sent: 0, finished: false });
      const host = await listen((request, response) => {
        if (request.url?.endsWith('/declared')) {
          response.setHeader('content-length', 5_000);
          response.end('d'.repeat(5_000));
          return;
        }
        streamed = new Promise((resolve) => {
          let sent = 0;
          const pump = () => {
            while (sent < routeSize && !response.destroyed) {
              sent += chunk.length;
              if (!response.write(chunk)) return;
            }
            if (sent >= routeSize) response.end();
          };
          response.on('drain', pump);
          response.on('close', () => resolve({ sent, finished: response.writableFinished }));
          pump();
        });
      });
      const proxied = await startFixture({ uiProxy: { baseUrl: `http://127.0.0.1:${host.port}`, maxResponseBytes: 4_000 } });
      try {
        const proxyHash = proxied.publish(guestDir('misbehave'));
        const callRoute = async (route: string, limits: Record<string, number> = {}) => {
          const { status, json } = await proxied.execute(executeBody({ hash: proxyHash, path: '/ui-proxy', method: 'POST', query: `route=${route}`, providers: ['alga.ui_proxy'], limits }));
          expect(status).toBe(200);
          return guestJson(json);
        };

        const streamedAnswer = await callRoute('huge', { max_response_bytes: 1_000_000 });
        expect(streamedAnswer).toMatchObject({ ok: false, error: 'limit' });
        expect(streamedAnswer.message).toContain('more than 4000 bytes');
        const route = await streamed;
        expect(route.finished).toBe(false);
        expect(route.sent).toBeLessThan(routeSize);

        const declared = await callRoute('declared', { max_response_bytes: 1_000_000 });
        expect(declared).toMatchObject({ ok: false, error: 'limit' });

        const small = await callRoute('huge', { max_response_bytes: 1_000 });
        expect(small).toMatchObject({ ok: false, error: 'limit' });
        expect(small.message).toContain('more than 1000 bytes');

        const metrics = await (await fetch(`${proxied.url}/metrics`)).text();
        expect(metrics).toContain('runner_ui_proxy_calls_total{result="limit"} 3');
      } finally {
        host.server.closeAllConnections();
        host.server.close();
        await proxied.close();
      }
    });
  });
});
