import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin } from '../../host/core/plugin.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { inProcessHost, type InProcessHost } from './host-app.ts';
import { RawClient, requestHead } from './raw-http.ts';

/**
 * Clients that send their bodies slowly, not at all, or while the host stops, over real sockets
 * on 127.0.0.1 (inject has no socket to hold). Limits are set low so each case ends quickly;
 * the assertions are about outcomes and their order, never about how long they took.
 */

/** A route whose answer the test releases, to hold a request in flight. */
function holdPlugin() {
  const held: Array<() => void> = [];
  let arrived: () => void = () => {};
  const plugin = definePlugin({
    name: 'test-hold', version: '1.0.0', requires: [],
    register(host) {
      host.routes.get('/test/hold', async () => {
        arrived();
        await new Promise<void>((resolve) => held.push(resolve));
        return { held: true };
      });
    },
  });
  return {
    plugin,
    /** Resolves when the next /test/hold request is being handled. */
    nextArrival: () => new Promise<void>((resolve) => (arrived = resolve)),
    release: () => held.splice(0).forEach((resolve) => resolve()),
  };
}

async function listeningHost(env: Record<string, string>, plugins = [extensionsPlugin]) {
  const h = await inProcessHost({ env, plugins });
  await h.host.app.listen({ port: 0, host: '127.0.0.1' });
  return { h, port: (h.host.app.server.address() as AddressInfo).port };
}

describe('credentials before the body', () => {
  let h: InProcessHost;
  let port: number;
  let tenantToken: string;

  beforeAll(async () => {
    ({ h, port } = await listeningHost({ ALGA_BODY_GRACE_MS: '60000' }));
    h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    tenantToken = h.host.auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
  });
  afterAll(() => h?.close());

  // Every route that takes a body and needs credentials.
  const bodyRoutes = [
    ['POST', '/api/ext/com.example.hello/hello'],
    ['PUT', '/api/ext/com.example.hello/anything/deeper'],
    ['POST', '/api/admin/tenants'],
    ['POST', '/api/admin/users'],
    ['POST', '/api/admin/tokens'],
    ['POST', '/api/installs'],
    ['PATCH', '/api/installs/com.example.hello'],
    ['POST', '/api/registry/bundles'],
    ['POST', '/api/ui-proxy/install/info'],
  ] as const;

  // Declared bodies above and below every route's size limit: the answer must not wait for either.
  const cases = bodyRoutes.flatMap(([method, path]) => [[method, path, 50 * 1024 * 1024], [method, path, 1000]] as const);

  it.each(cases)('%s %s answers 401 to a request without credentials before any of its declared %i-byte body is sent, and closes the connection', async (method, path, length) => {
    const client = new RawClient(port);
    client.write(requestHead(method, path, { 'content-type': 'application/octet-stream', 'content-length': length }));
    const [answer] = await client.responses(1);
    expect(answer.status).toBe(401);
    expect(answer.headers.connection).toBe('close');
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'E_AUTH_REQUIRED', message: expect.any(String) }, request_id: answer.headers['x-request-id'] });
    await client.closed;
  });

  it('lets a client that sends its whole body before it reads read the 401 (the close lingers instead of resetting)', async () => {
    // 8 MB is more than the socket buffers hold, so bytes are still unread when the host closes: an
    // immediate close would reset the connection and the client would never see the answer.
    const body = Buffer.alloc(8 * 1024 * 1024, 97);
    const socket = connect(port, '127.0.0.1');
    socket.pause();
    socket.on('error', () => {});
    socket.write(requestHead('POST', '/api/ext/com.example.hello/hello', { 'content-type': 'application/octet-stream', 'content-length': body.length }));
    await new Promise<void>((resolve) => socket.write(body, () => resolve()));
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).toMatch(/^HTTP\/1\.1 401 /);
    expect(received).toContain('"code":"E_AUTH_REQUIRED"');
  });

  it('answers 403 on the headers, too, when the token lacks the scope', async () => {
    const client = new RawClient(port);
    client.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${tenantToken}`, 'content-type': 'application/json', 'content-length': 10 * 1024 * 1024 }));
    const [answer] = await client.responses(1);
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.body).error.code).toBe('E_AUTH_FORBIDDEN');
    await client.closed;
  });

  it('tells a client that sent Expect: 100-continue to go on only once its credentials passed', async () => {
    const refused = new RawClient(port);
    refused.write(requestHead('POST', '/api/admin/tenants', { expect: '100-continue', 'content-type': 'application/json', 'content-length': 30 }));
    const [first] = await refused.responses(1);
    expect(first.status).toBe(401); // no "100 Continue" came before it
    expect(refused.received.startsWith('HTTP/1.1 401')).toBe(true);

    const body = JSON.stringify({ id: 'continued', name: 'C' });
    const accepted = new RawClient(port);
    accepted.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${h.adminToken}`, expect: '100-continue', 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }));
    const [interim] = await accepted.responses(1);
    expect(interim.status).toBe(100);
    accepted.write(body);
    const [, created] = await accepted.responses(2);
    expect(created.status).toBe(201);
    accepted.socket.destroy();
  });

  it('answers 413 to an oversized declared body with Expect: 100-continue without asking for it', async () => {
    const client = new RawClient(port);
    client.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${h.adminToken}`, expect: '100-continue', 'content-type': 'application/json', 'content-length': 5 * 1024 * 1024 }));
    const [answer] = await client.responses(1);
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('E_BODY_TOO_LARGE');
  });
});

describe('trickled bodies and shutdown', () => {
  it('cuts a body that arrives slower than the minimum rate with 408 E_REQUEST_TIMEOUT and closes the connection; a brisk one passes', async () => {
    const { h, port } = await listeningHost({ ALGA_BODY_GRACE_MS: '300', ALGA_BODY_MIN_BYTES_PER_SECOND: '2000' });
    try {
      const body = JSON.stringify({ id: 'trickled', name: 'T'.repeat(200) });
      const slow = new RawClient(port);
      slow.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }));
      let sent = 0;
      const trickle = setInterval(() => {
        if (sent < body.length) slow.write(body[sent++]);
      }, 50);
      const [answer] = await slow.responses(1);
      clearInterval(trickle);
      expect(answer.status).toBe(408);
      expect(JSON.parse(answer.body)).toEqual({ error: { code: 'E_REQUEST_TIMEOUT', message: expect.any(String) }, request_id: answer.headers['x-request-id'] });
      expect(answer.headers.connection).toBe('close');
      await slow.closed;
      expect(sent).toBeLessThan(body.length); // cut before the body was complete
      expect(h.host.auth.getTenant('trickled')).toBeUndefined();

      const brisk = new RawClient(port);
      const briskBody = JSON.stringify({ id: 'brisk', name: 'B' });
      brisk.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(briskBody) }) + briskBody);
      expect((await brisk.responses(1))[0].status).toBe(201);
      brisk.socket.destroy();
    } finally {
      await h.close();
    }
  });

  it('stays up when a body it already refused as too large stalls or is abandoned (no uncaught error from the cut)', async () => {
    const { h, port } = await listeningHost({ ALGA_BODY_GRACE_MS: '200', ALGA_BODY_MIN_BYTES_PER_SECOND: '100000000' });
    try {
      h.host.auth.createTenant({ id: 'acme', name: 'Acme' });
      const token = h.host.auth.createToken({ kind: 'tenant', tenantId: 'acme' }).token;
      const piece = Buffer.alloc(700 * 1024, 1);
      const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
      const clients = [new RawClient(port), new RawClient(port)];
      for (const client of clients) {
        client.write(requestHead('POST', '/api/ext/com.example.hello/hello', { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' }));
        client.write(chunk);
        client.write(chunk); // past the gateway's 1 MB limit; then nothing more
      }
      expect((await clients[0].responses(1))[0].status).toBe(413);
      clients[1].socket.destroy(); // the other walks away mid-body
      // Well past the grace period and a few rate checks: a cut of either body must not throw.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect((await h.host.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await h.close();
    }
  });

  it('answers what the HTTP parser refuses with the one error body: bad request line, oversized headers, headers never finished', async () => {
    const { h, port } = await listeningHost({ ALGA_REQUEST_TIMEOUT_MS: '1000' });
    try {
      const garbage = new RawClient(port);
      garbage.write('NOT HTTP AT ALL\r\n\r\n');
      const [bad] = await garbage.responses(1);
      expect(bad.status).toBe(400);
      expect(JSON.parse(bad.body)).toEqual({ error: { code: 'E_REQUEST_INVALID', message: expect.any(String) }, request_id: bad.headers['x-request-id'] });

      const huge = new RawClient(port);
      huge.write(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
      const [tooLarge] = await huge.responses(1);
      expect(tooLarge.status).toBe(431);
      expect(JSON.parse(tooLarge.body).error.code).toBe('E_REQUEST_HEADERS_TOO_LARGE');

      const stalled = new RawClient(port);
      stalled.write('GET /healthz HTTP/1.1\r\nhost: x\r\n');
      const [timedOut] = await stalled.responses(1);
      expect(timedOut.status).toBe(408);
      expect(JSON.parse(timedOut.body).error.code).toBe('E_REQUEST_TIMEOUT');
      await stalled.closed;
    } finally {
      await h.close();
    }
  });

  it('stops within its drain: a request that arrives meanwhile gets 503 E_HOST_SHUTTING_DOWN, one in flight finishes, a trickling client is cut', async () => {
    const hold = holdPlugin();
    // No rate floor here: only the drain may end the trickling client.
    const { h, port } = await listeningHost({ ALGA_BODY_MIN_BYTES_PER_SECOND: '0', ALGA_SHUTDOWN_DRAIN_MS: '1500' }, [extensionsPlugin, hold.plugin]);
    const trickler = new RawClient(port);
    trickler.write(requestHead('POST', '/api/admin/tenants', { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json', 'content-length': 1000 }));
    trickler.write('{');
    const trickle = setInterval(() => trickler.write(' '), 100);

    const busy = new RawClient(port);
    const arrived = hold.nextArrival();
    busy.write(requestHead('GET', '/test/hold', {}));
    await arrived;

    const closed = h.close();
    let closedAt = 0;
    void closed.then(() => (closedAt = Date.now()));
    // A second request on the busy connection, sent while the host stops (released once it is in).
    const secondArrived = new Promise<void>((resolve) => h.host.app.server.on('request', (request) => request.url === '/healthz' && resolve()));
    busy.write(requestHead('GET', '/healthz', {}));
    await secondArrived;
    hold.release();
    const [held, refused] = await busy.responses(2);
    expect(held.status).toBe(200);
    expect(JSON.parse(held.body)).toEqual({ held: true });
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toEqual({ error: { code: 'E_HOST_SHUTTING_DOWN', message: expect.any(String) }, request_id: refused.headers['x-request-id'] });
    expect(refused.headers['retry-after']).toBeDefined();

    await closed; // bounded by the drain, although the trickler never finishes
    clearInterval(trickle);
    await trickler.closed;
    expect(closedAt).toBeGreaterThan(0);
  });
});
