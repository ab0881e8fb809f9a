import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AlgaError, type ErrorCode } from '../../lib/errors/index.ts';
import { decodeExecuteFrame, encodeExecuteFrame, executeFrameType } from '../../lib/execute-frame.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { packedExample, repackedExample, sign, signingFixture } from './signed-bundles.ts';

/**
 * The gateway's side of the runner contract, against a real HTTP server on 127.0.0.1 standing in
 * for the runner: it records each /v1/execute body and answers what the test scripts. A frame
 * request is recorded as its JSON form would have been (the raw body as `http.body_b64`, absent
 * when empty), with the frame's own envelope and body kept beside it.
 */
type Answer = {
  status: number;
  headers?: Record<string, string>;
  /** Answered as JSON (the default). */
  body?: unknown;
  /** Answered as an execute frame instead. */
  frame?: { envelope: unknown; body: Uint8Array };
  /** Answered as these bytes, as they are (with `headers`' content-type). */
  raw?: Buffer;
  delayMs?: number;
};
type Script = (body: any, request: IncomingMessage) => Answer;
type Received = { body: any; headers: IncomingMessage['headers']; contentType?: string; frame?: { envelope: any; body: Buffer } };

function readExecuteRequest(request: IncomingMessage, bytes: Buffer): Received {
  const contentType = request.headers['content-type'];
  if (contentType !== executeFrameType) return { body: JSON.parse(bytes.toString()), headers: request.headers, contentType };
  const frame = decodeExecuteFrame(bytes) as { envelope: any; body: Buffer };
  const body = structuredClone(frame.envelope);
  if (frame.body.length > 0) body.http.body_b64 = frame.body.toString('base64');
  return { body, headers: request.headers, contentType, frame };
}

function writeAnswer(response: ServerResponse, answer: Answer): void {
  if (answer.raw) {
    response.writeHead(answer.status, answer.headers);
    response.end(answer.raw);
  } else if (answer.frame) {
    const [head, body] = encodeExecuteFrame(answer.frame.envelope, answer.frame.body);
    response.writeHead(answer.status, { 'content-type': executeFrameType, ...answer.headers });
    response.write(head);
    response.end(body);
  } else {
    response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
    response.end(JSON.stringify(answer.body ?? {}));
  }
}

describe('gateway ↔ runner contract', () => {
  const fixture = signingFixture('example');
  const hello = packedExample('hello');
  /** The hello component under another name that declares `POST /echo`, for calls with a body. */
  const echo = repackedExample('hello', (manifest) => ({ ...manifest, name: 'com.example.echo', api: { endpoints: [{ method: 'POST', path: '/echo' }] } }));
  /** The hello component under another name whose manifest lets it redirect to one other origin. */
  const redirector = repackedExample('hello', (manifest) => ({ ...manifest, name: 'com.example.redirector', api: { endpoints: [{ method: 'GET', path: '/*' }], redirectOrigins: ['https://login.example.com'] } }));
  let runner: Server;
  let h: InProcessHost;
  let tokenA: string;
  /** A second tenant whose quota is high enough for the error-mapping tables. */
  let tokenE: string;
  let received: Received[] = [];
  let script: Script;

  beforeAll(async () => {
    runner = createServer((request, response) => {
      if (request.url === '/healthz') return response.end('{"status":"ok"}');
      if (request.url === '/v1/prepare') return response.end('{}'); // the host asks a runner to prepare versions; not part of this contract
      // A runner without the execute channel (an older one): the gateway calls it over HTTP.
      if (request.url === '/v1/channel') return response.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Route GET:/v1/channel not found"}');
      const chunks: Buffer[] = [];
      request.on('data', (chunk) => chunks.push(chunk));
      request.on('end', () => {
        const record = readExecuteRequest(request, Buffer.concat(chunks));
        received.push(record);
        const answer = script(record.body, request);
        setTimeout(() => writeAnswer(response, answer), answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => runner.listen(0, '127.0.0.1', resolve));
    h = await inProcessHost({
      runnerUrl: `http://127.0.0.1:${(runner.address() as AddressInfo).port}`,
      env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, EXT_GATEWAY_TIMEOUT_MS: '300', EXT_GATEWAY_MAX_BODY_BYTES: '1024' },
    });
    const publisher = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    for (const bytes of [hello.bytes, echo, redirector]) {
      const published = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisher), payload: { bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, fixture.key) } });
      expect(published.statusCode).toBe(201);
    }
    h.host.auth.createTenant({ id: 'tenant-a', name: 'A' });
    tokenA = h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-a' }).token;
    const installed = await h.host.app.inject({
      method: 'POST', url: '/api/installs', headers: bearer(tokenA),
      payload: { extensionId: 'com.example.hello', config: { greeting_name: 'Ada' }, secrets: { TOKEN: 'never-in-clear' }, limits: { requestsPerMinute: 6 } },
    });
    expect(installed.statusCode).toBe(201);
    h.host.auth.createTenant({ id: 'tenant-e', name: 'E' });
    tokenE = h.host.auth.createToken({ kind: 'tenant', tenantId: 'tenant-e' }).token;
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenE), payload: { extensionId: 'com.example.hello', config: { greeting_name: 'E' }, limits: { requestsPerMinute: 1000 } } })).statusCode).toBe(201);
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenE), payload: { extensionId: 'com.example.echo', limits: { requestsPerMinute: 1000 } } })).statusCode).toBe(201);
    expect((await h.host.app.inject({ method: 'POST', url: '/api/installs', headers: bearer(tokenE), payload: { extensionId: 'com.example.redirector', limits: { requestsPerMinute: 1000 } } })).statusCode).toBe(201);
    for (let i = 0; i < 50 && !h.runner.isReady(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  });
  beforeEach(() => {
    received = [];
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((resolve) => runner?.close(resolve));
  });

  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const ok = (): ReturnType<Script> => ({ status: 200, body: { status: 201, headers: { 'content-type': 'text/plain', 'set-cookie': 'evil=1', 'x-ext-trace': 't1', server: 'guest' }, body_b64: Buffer.from('made').toString('base64'), execution: { duration_ms: 3, memory_bytes: 1024, egress_bytes: 7 } } });

  it('sends the install context, grants, config and sealed secrets; forwards only allowlisted headers both ways', async () => {
    script = ok; // a 200 answered as JSON (body_b64), the runner's older form

    const answer = await inject({
      method: 'GET', url: '/api/ext/com.example.hello/hello?x=1&y=2',
      headers: { ...bearer(tokenA), cookie: 'alga_session=abc', 'x-tenant-id': 'tenant-b', accept: 'text/plain', 'x-ext-mode': 'fast', 'x-forwarded-for': '10.0.0.1' },
    });
    expect(answer.statusCode).toBe(201);
    expect(answer.body).toBe('made');
    expect(answer.headers['x-ext-trace']).toBe('t1');
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(answer.headers.server).toBeUndefined();

    const [{ body, headers, contentType, frame }] = received;
    expect(headers.authorization).toBe(`Bearer ${h.secrets.runnerServiceToken}`);
    expect(contentType).toBe(executeFrameType);
    expect(headers.accept).toBe(`${executeFrameType}, application/json`);
    expect(frame!.body).toHaveLength(0);
    expect(body.http.body_b64).toBeUndefined();
    expect(body.context).toMatchObject({ tenant_id: 'tenant-a', extension_id: 'com.example.hello', version: '1.0.0', content_hash: hello.hash, request_id: answer.headers['x-request-id'] });
    expect(body.http).toMatchObject({ method: 'GET', path: '/hello', query: 'x=1&y=2' });
    expect(body.http.headers).toEqual({ accept: 'text/plain', 'x-ext-mode': 'fast', 'user-agent': expect.any(String) });
    expect(body.config).toEqual({ greeting_name: 'Ada' });
    expect(body.providers).toEqual([]);
    expect(body.ui_proxy).toBeUndefined(); // only installs granted alga.ui_proxy get a route base
    expect(body.limits).toMatchObject({ timeout_ms: 5000, memory_mb: 64 });
    expect(body.secret_envelopes).toEqual([expect.objectContaining({ version: 1 })]); // each secret sealed on its own
    expect(JSON.stringify(body)).not.toContain('never-in-clear');
  });

  it('answers HEAD on an endpoint declared for GET: the extension runs the GET, the caller gets its status and headers without the body', async () => {
    script = ok;
    const get = await inject({ method: 'GET', url: '/api/ext/com.example.redirector/page', headers: bearer(tokenE) });
    const head = await inject({ method: 'HEAD', url: '/api/ext/com.example.redirector/page', headers: bearer(tokenE) });
    expect(head.statusCode).toBe(201);
    expect(head.headers['x-ext-trace']).toBe('t1');
    expect(head.headers['content-length']).toBe(get.headers['content-length']);
    expect(head.body).toBe('');
    expect(received.map((call) => call.body.http.method)).toEqual(['GET', 'GET']);
    const notDeclared = await inject({ method: 'HEAD', url: '/api/ext/com.example.echo/echo', headers: bearer(tokenE) });
    expect(notDeclared.statusCode).toBe(405);
    expect(notDeclared.headers.allow).toBe('POST');
    const log = await inject({ method: 'GET', url: '/api/installs/com.example.redirector/executions?limit=1', headers: bearer(tokenE) });
    expect(log.json().executions[0]).toMatchObject({ method: 'HEAD', path: '/page', status: 201 });
  });

  it('passes on the runner\'s catalog code and status for failures the caller can act on, with the catalog sentence only', async () => {
    const cases = [
      { status: 413, code: 'E_RUNNER_REQUEST_TOO_LARGE' },
      { status: 422, code: 'E_RUNNER_VERIFICATION_FAILED' },
      { status: 422, code: 'E_RUNNER_UNSUPPORTED_IMPORT' },
      { status: 429, code: 'E_RUNNER_BUSY' },
      { status: 500, code: 'E_RUNNER_GUEST_TRAP' },
      { status: 500, code: 'E_RUNNER_GUEST_MEMORY' },
      { status: 502, code: 'E_RUNNER_RESPONSE_TOO_LARGE' },
      { status: 504, code: 'E_RUNNER_DEADLINE' },
    ];
    for (const { status, code } of cases) {
      script = () => ({ status, headers: status === 429 ? { 'retry-after': '3' } : undefined, body: { error: { code, message: 'E_SIGNATURE_UNTRUSTED_KEY: key abc at /srv/secret/path.js, db password hunter2' }, request_id: 'runner-internal-id' } });
      const failed = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenE) });
      expect({ status: failed.statusCode, code: failed.json().error.code }).toEqual({ status, code });
      expect(failed.json()).toEqual({ error: { code, message: new AlgaError(code as ErrorCode).message }, request_id: failed.headers['x-request-id'] });
      for (const leak of ['hunter2', '/srv/secret', 'E_SIGNATURE_UNTRUSTED_KEY', 'runner-internal-id']) expect(failed.body).not.toContain(leak);
      if (status === 429) expect(failed.headers['retry-after']).toBe('3');
    }
    const log = await inject({ method: 'GET', url: '/api/installs/com.example.hello/executions', headers: bearer(tokenE) });
    const logged = log.json().executions.map((row: { status: number; error: string }) => `${row.status} ${row.error}`).sort();
    expect(logged).toEqual(cases.map(({ status, code }) => `${status} ${code}`).sort());
  });

  it('answers a generic code when the runner names no usable code, and 502 for the host\'s own runner problems', async () => {
    const cases: [number, unknown, string, number][] = [
      [500, undefined, 'E_EXT_FAILED', 500],
      [500, 'E_MADE_UP <script>', 'E_EXT_FAILED', 500],
      [500, 'E_AUTH_FORBIDDEN', 'E_EXT_FAILED', 500], // a host code is not the runner's to give
      [504, 'E_RUNNER_GUEST_TRAP', 'E_EXT_TIMEOUT', 504], // code and status disagree: the status decides
      [429, undefined, 'E_EXT_RATE_LIMITED', 429],
      [413, undefined, 'E_BODY_TOO_LARGE', 413],
      [401, 'E_RUNNER_UNAUTHORIZED', 'E_RUNNER_UNAVAILABLE', 502],
      [404, 'E_RUNNER_BUNDLE_NOT_FOUND', 'E_RUNNER_UNAVAILABLE', 502],
      [400, 'E_RUNNER_BAD_REQUEST', 'E_RUNNER_UNAVAILABLE', 502],
      [503, 'E_RUNNER_SHUTTING_DOWN', 'E_RUNNER_UNAVAILABLE', 502],
      [502, undefined, 'E_RUNNER_UNAVAILABLE', 502],
    ];
    for (const [runnerStatus, runnerCode, code, status] of cases) {
      script = () => ({ status: runnerStatus, body: { error: { code: runnerCode, message: 'db password hunter2' } } });
      const failed = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenE) });
      expect({ runnerStatus, status: failed.statusCode, code: failed.json().error.code }).toEqual({ runnerStatus, status, code });
      expect(failed.body).not.toContain('hunter2');
      if (status === 429) expect(failed.headers['retry-after']).toBe('1');
    }
  });

  it('answers 504 when the runner does not answer within EXT_GATEWAY_TIMEOUT_MS', async () => {
    script = () => ({ ...ok(), delayMs: 1500 });
    const slow = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) });
    expect(slow.statusCode).toBe(504);
    expect(slow.json().error.code).toBe('E_EXT_TIMEOUT');
  });

  it('refuses bodies above the limit with 413 before the runner sees them', async () => {
    script = ok;
    const big = await inject({ method: 'POST', url: '/api/ext/com.example.hello/hello', headers: { ...bearer(tokenA), 'content-type': 'application/octet-stream' }, payload: Buffer.alloc(4096) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe('E_BODY_TOO_LARGE');
    expect(received).toHaveLength(0);
  });

  it('enforces the per-tenant, per-extension rate quota with 429 and Retry-After', async () => {
    script = ok;
    const statuses: number[] = [];
    let limited;
    const started = Date.now();
    for (let i = 0; i < 10; i++) {
      const answer = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) });
      statuses.push(answer.statusCode);
      if (answer.statusCode === 429) limited ??= answer;
    }
    expect(statuses).toContain(429);
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
    expect(limited!.json().error.code).toBe('E_EXT_RATE_LIMITED');
    // The bucket holds 6 and refills one call per 10 s: only a stall that long could admit a 7th.
    expect(received.length).toBeLessThanOrEqual(6 + Math.floor((Date.now() - started) / 10_000));
  });

  it('enforces the concurrency quota: a second call while one is in flight gets 429', async () => {
    const patched = await inject({ method: 'PATCH', url: '/api/installs/com.example.hello', headers: bearer(tokenA), payload: { limits: { requestsPerMinute: 1000, maxConcurrency: 1 } } });
    expect(patched.json().install.limits).toMatchObject({ requestsPerMinute: 1000, maxConcurrency: 1 });
    script = () => ({ ...ok(), delayMs: 150 });
    const [first, second] = await Promise.all([
      inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) }),
      new Promise((resolve) => setTimeout(resolve, 30)).then(() => inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) })),
    ]);
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(429);
    expect(second.headers['retry-after']).toBe('1');
    expect((await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenA) })).statusCode).toBe(201);
  });

  it('accepts a signed-in user\'s session for their own tenant, and the runner never sees the cookie', async () => {
    script = ok;
    await h.host.auth.createUser({ username: 'ada', password: 'ada has a long password', role: 'member', tenantId: 'tenant-a' });
    const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'ada', password: 'ada has a long password' } });
    const session = login.cookies.find((cookie) => cookie.name === 'alga_session')!.value;
    const answer = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', cookies: { alga_session: session, other: 'x' } });
    expect(answer.statusCode).toBe(201);
    const forwarded = received.at(-1)!;
    expect(forwarded.body.context.tenant_id).toBe('tenant-a');
    expect(JSON.stringify(forwarded.body)).not.toContain(session.split('.')[0]);
    expect(Object.keys(forwarded.body.http.headers)).not.toContain('cookie');
  });

  it('sends a request body as raw frame bytes: every byte value 0–255 reaches the runner unchanged, none of it inside the envelope', async () => {
    script = ok;
    const bytes = Buffer.from(Array.from({ length: 512 }, (_, index) => index % 256));
    const answer = await inject({ method: 'POST', url: '/api/ext/com.example.echo/echo', headers: { ...bearer(tokenE), 'content-type': 'application/octet-stream' }, payload: bytes });
    expect(answer.statusCode).toBe(201);
    const [{ body, contentType, frame }] = received;
    expect(contentType).toBe(executeFrameType);
    expect(frame!.envelope.http.body_b64).toBeUndefined();
    expect(Buffer.compare(frame!.body, bytes)).toBe(0);
    expect(body.http).toMatchObject({ method: 'POST', path: '/echo', body_b64: bytes.toString('base64'), headers: { 'content-type': 'application/octet-stream' } });
  });

  it('passes a 200 answered as a frame to the client byte for byte, with only the allowed headers, and logs its execution figures', async () => {
    const bytes = Buffer.from(Array.from({ length: 768 }, (_, index) => 255 - (index % 256)));
    script = () => ({
      status: 200,
      frame: {
        envelope: { status: 202, headers: { 'content-type': 'application/octet-stream', 'x-ext-trace': 'f1', 'set-cookie': 'evil=1', server: 'guest' }, execution: { duration_ms: 4.5, memory_bytes: 2048, egress_bytes: 9 } },
        body: bytes,
      },
    });
    const answer = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenE) });
    expect(answer.statusCode).toBe(202);
    expect(Buffer.compare(answer.rawPayload, bytes)).toBe(0);
    expect(answer.headers['content-type']).toBe('application/octet-stream');
    expect(answer.headers['x-ext-trace']).toBe('f1');
    expect(answer.headers['set-cookie']).toBeUndefined();
    expect(answer.headers.server).toBeUndefined();
    const log = await inject({ method: 'GET', url: '/api/installs/com.example.hello/executions', headers: bearer(tokenE) });
    expect(log.json().executions.find((row: { requestId: string }) => row.requestId === answer.headers['x-request-id'])).toMatchObject({ status: 202, runnerDurationMs: 4.5, memoryBytes: 2048, egressBytes: 9 });

    script = () => ({ status: 200, frame: { envelope: { status: 204, headers: {}, execution: { duration_ms: 1 } }, body: new Uint8Array() } });
    const empty = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenE) });
    expect(empty.statusCode).toBe(204);
    expect(empty.rawPayload).toHaveLength(0);
  });

  it('answers 502 E_RUNNER_UNAVAILABLE, with the catalog sentence only, when a frame answer does not decode', async () => {
    const frameHeaders = { 'content-type': executeFrameType };
    const undecodable = [
      Buffer.from([0, 0]), // shorter than the length prefix
      Buffer.concat([Buffer.from([0, 0, 3, 231]), Buffer.from('{"status":200,"note":"db password hunter2"}')]), // announces more JSON than it holds
      Buffer.concat([Buffer.from([0, 0, 0, 20]), Buffer.from('hunter2 is not json!'), Buffer.from('body')]), // an envelope that is not JSON
    ];
    for (const raw of undecodable) {
      script = () => ({ status: 200, headers: frameHeaders, raw });
      const failed = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: bearer(tokenE) });
      expect({ status: failed.statusCode, body: failed.json() }).toEqual({
        status: 502,
        body: { error: { code: 'E_RUNNER_UNAVAILABLE', message: new AlgaError('E_RUNNER_UNAVAILABLE').message }, request_id: failed.headers['x-request-id'] },
      });
      expect(failed.body).not.toContain('hunter2');
    }
  });

  describe('what an extension may answer on the host origin (issue 9)', () => {
    const answering = (status: unknown, headers: Record<string, string>, body = 'x'): Script => () => ({ status: 200, body: { status, headers, body_b64: Buffer.from(body).toString('base64') } });
    const call = (path = '/hello', extensionId = 'com.example.hello', headers: Record<string, string> = {}) =>
      inject({ method: 'GET', url: `/api/ext/${extensionId}${path}`, headers: { ...bearer(tokenE), ...headers } });
    const inert = (answer: { headers: Record<string, unknown> }) => {
      expect(answer.headers['content-security-policy']).toMatch(/^sandbox; default-src 'none';/);
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['cross-origin-resource-policy']).toBe('same-origin');
    };

    it('sends an HTML answer as an inert attachment, and every answer (errors too) with a sandbox CSP and nosniff', async () => {
      script = answering(200, { 'content-type': 'text/html', 'content-disposition': 'inline; filename="page.html"' }, '<script>fetch("/api/auth/me")</script>');
      const html = await call();
      expect(html.statusCode).toBe(200);
      inert(html);
      expect(html.headers['content-disposition']).toBe('attachment; filename="page.html"');
      for (const type of ['image/svg+xml', 'application/xhtml+xml', 'text/xml', 'application/pdf', 'multipart/x-mixed-replace; boundary=x', 'TEXT/HTML; charset=utf-8']) {
        script = answering(200, { 'content-type': type });
        expect((await call()).headers['content-disposition'], type).toBe('attachment');
      }
      script = answering(200, {}); // no content type at all: nothing to render inline
      expect((await call()).headers['content-disposition']).toBe('attachment');
      script = answering(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60, s-maxage=600' }, '{}');
      const json = await call();
      inert(json);
      expect(json.headers['content-disposition']).toBeUndefined();
      expect(json.headers['cache-control']).toBe('private, max-age=60'); // no shared cache serves one tenant's answer to another

      const notFound = await call('/hello', 'com.example.none');
      expect(notFound.statusCode).toBe(404);
      inert(notFound);
      expect((await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello' })).headers['content-security-policy']).toMatch(/^sandbox;/);
    });

    it('takes the session cookie only from the host\'s own pages or a typed address, and API tokens from anywhere', async () => {
      script = ok;
      await h.host.auth.createUser({ username: 'cara', password: 'cara has a long password', role: 'member', tenantId: 'tenant-e' });
      const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'cara', password: 'cara has a long password' } });
      const cookies = { alga_session: login.cookies.find((cookie) => cookie.name === 'alga_session')!.value };
      const withSession = (method: string, headers: Record<string, string>) => inject({ method: method as 'GET', url: '/api/ext/com.example.hello/hello', cookies, headers });
      const refused = [
        ['GET', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' }],
        ['GET', { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' }], // 127.0.0.1 on another port, or a sibling subdomain
        ['POST', { 'sec-fetch-site': 'cross-site' }],
        ['POST', { 'sec-fetch-site': 'none' }],
        ['GET', { origin: 'http://127.0.0.1:1' }],
        ['GET', { origin: 'null' }], // an opaque (sandboxed) document
      ] as const;
      for (const [method, headers] of refused) {
        const before = received.length;
        const answer = await withSession(method, headers);
        expect({ method, headers, status: answer.statusCode, code: answer.json().error?.code }).toEqual({ method, headers, status: 403, code: 'E_EXT_CROSS_ORIGIN' });
        expect(received.length).toBe(before); // the extension never ran
      }
      const allowed: Record<string, string>[] = [{ 'sec-fetch-site': 'same-origin' }, { 'sec-fetch-site': 'none', 'sec-fetch-mode': 'navigate' }, { origin: 'http://localhost:80' }, { origin: 'http://localhost' }, {}];
      for (const headers of allowed) {
        expect((await withSession('GET', headers)).statusCode, JSON.stringify(headers)).toBe(201);
      }
      const token = await inject({ method: 'GET', url: '/api/ext/com.example.hello/hello', headers: { ...bearer(tokenE), 'sec-fetch-site': 'cross-site', origin: 'https://elsewhere.example' } });
      expect(token.statusCode).toBe(201);
    });

    it('refuses statuses outside 200–599 (1xx included) with E_EXT_BAD_RESPONSE, never passing them on', async () => {
      for (const status of [100, 101, 103, 199, 600, 1000, 0, -1, 200.5, '200', null]) {
        script = answering(status, { 'content-type': 'text/plain' });
        const answer = await call();
        expect({ status, answered: answer.statusCode, code: answer.json().error?.code }).toEqual({ status, answered: 502, code: 'E_EXT_BAD_RESPONSE' });
        inert(answer);
      }
      script = answering(599, { 'content-type': 'text/plain' });
      expect((await call()).statusCode).toBe(599);
      script = answering(200, { 'content-type': 'text/plain' });
      expect((await call()).statusCode).toBe(200);
    });

    it('answers the second of two pipelined requests with its own answer when the first got a 1xx from the extension', async () => {
      script = (body, request) => answering(body.http.query === 'first' ? 103 : 200, { 'content-type': 'text/plain' }, body.http.query === 'first' ? 'first' : 'second answer')(body, request);
      const address = await h.host.app.listen({ host: '127.0.0.1', port: 0 });
      const { port } = new URL(address);
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: Number(port) });
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk) => {
          text += chunk;
          if (text.includes('second answer')) socket.end();
        });
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
        socket.setTimeout(5_000, () => socket.destroy());
        const request = (query: string) => `GET /api/ext/com.example.hello/hello?${query} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${tokenE}\r\n\r\n`;
        socket.write(request('first') + request('second'));
      });
      expect([...raw.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((match) => match[1])).toEqual(['502', '200']);
      const [first, second] = raw.split(/(?=HTTP\/1\.1 \d{3})/);
      expect(first).toContain('E_EXT_BAD_RESPONSE');
      expect(second).toContain('second answer');
    });

    it('refuses header values Node could not write (above Latin-1, CR/LF, NUL) with E_EXT_BAD_RESPONSE, not a raw 500', async () => {
      script = answering(200, { 'content-type': 'text/plain', 'x-ext-name': 'caf\u00e9' });
      const latin1 = await call();
      expect(latin1.statusCode).toBe(200);
      expect(Buffer.from(latin1.headers['x-ext-name'] as string, 'latin1').toString('latin1')).toBe('caf\u00e9');
      for (const value of ['\u20ac', 'a\u0100', 'one\r\nset-cookie: evil=1', 'nul\u0000', 'bell\u0007']) {
        script = answering(200, { 'content-type': 'text/plain', 'x-ext-name': value });
        const answer = await call();
        expect({ value, status: answer.statusCode, code: answer.json().error?.code }).toEqual({ value, status: 502, code: 'E_EXT_BAD_RESPONSE' });
        expect(answer.headers['set-cookie']).toBeUndefined();
      }
      script = answering(200, { 'x-ext-bad name': 'v' });
      expect((await call()).json().error.code).toBe('E_EXT_BAD_RESPONSE');
    });

    it('passes Location only on the extension\'s own API or to an origin its manifest lists; open redirects get E_EXT_REDIRECT_REFUSED', async () => {
      const own = '/api/ext/com.example.hello';
      const allowed: [string, string][] = [
        ['next', `${own}/next`],
        ['./a/b?x=1#f', `${own}/a/b?x=1#f`],
        [`${own}/done`, `${own}/done`],
        [own, own],
        [`http://localhost:80${own}/absolute`, `${own}/absolute`],
      ];
      for (const [location, sent] of allowed) {
        script = answering(302, { location });
        const answer = await call('/hello');
        expect({ location, status: answer.statusCode, sent: answer.headers.location }).toEqual({ location, status: 302, sent });
      }
      const refused = [
        'https://evil.example/phish', '//evil.example/x', '/\\evil.example/x', '\\\\evil.example', 'https:evil.example', 'javascript:alert(1)', 'data:text/html,x',
        '/api/auth/me', '../../auth/me', `${own}-evil/x`, `${own}/../com.example.other/x`, `${own}/%2e%2e/com.example.other`, `http://localhost:81${own}/x`,
        `https://user:pw@localhost${own}/x`, 'https://login.example.com/authorize',
      ];
      for (const location of refused) {
        script = answering(302, { location });
        const answer = await call('/hello');
        expect({ location, status: answer.statusCode, code: answer.json().error?.code }).toEqual({ location, status: 502, code: 'E_EXT_REDIRECT_REFUSED' });
        expect(answer.headers.location).toBeUndefined();
      }
      script = answering(201, { location: 'https://evil.example/created' }); // any status, not only 3xx
      expect((await call('/hello')).json().error.code).toBe('E_EXT_REDIRECT_REFUSED');

      script = answering(302, { location: 'https://login.example.com/authorize?state=1' });
      const declared = await call('/start', 'com.example.redirector');
      expect(declared.statusCode).toBe(302);
      expect(declared.headers.location).toBe('https://login.example.com/authorize?state=1');
      for (const location of ['https://login.example.com.evil.io/', 'http://login.example.com/', 'https://login.example.com:8443/']) {
        script = answering(302, { location });
        expect((await call('/start', 'com.example.redirector')).json().error?.code, location).toBe('E_EXT_REDIRECT_REFUSED');
      }
    });
  });
});
