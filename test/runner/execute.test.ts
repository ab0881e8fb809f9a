import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exampleDir, guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type RunnerFixture } from './support.ts';

describe('runner: executing handlers', () => {
  let fixture: RunnerFixture;
  let hello: string;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture();
    hello = fixture.publish(exampleDir('hello'));
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('runs examples/hello and reports the execution', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: hello, path: '/hello', config: { greeting_name: 'Ada' }, requestId: 'req-hello-1' }));
    expect(status).toBe(200);
    expect(json.status).toBe(200);
    expect(guestJson(json)).toEqual({ message: 'Hello, Ada', tenant: 'tenant-a' });
    expect(json.execution.request_id).toBe('req-hello-1');
    expect(json.execution.memory_bytes).toBeGreaterThan(1048576);
    expect(json.execution.duration_ms).toBeGreaterThan(0);
  });

  it('refuses a wrong service token with 401', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: hello, path: '/hello' }), 'not-the-token');
    expect(status).toBe(401);
    expect(json.error.code).toBe('E_RUNNER_UNAUTHORIZED');
  });

  it('answers 404 for a content hash the runner does not have', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: `sha256:${'0'.repeat(64)}`, path: '/hello', requestId: 'req-404' }));
    expect(status).toBe(404);
    expect(json.error.code).toBe('E_RUNNER_BUNDLE_NOT_FOUND');
    expect(json.request_id).toBe('req-404');
  });

  it('answers 400 naming the field for a malformed request', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: hello, path: 'no-leading-slash' }));
    expect(status).toBe(400);
    expect(json.error.code).toBe('E_RUNNER_BAD_REQUEST');
    expect(json.error.message).toContain('http.path');
  });

  it('returns denied to the guest for a capability the install was not granted, and audits it', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/storage/get', query: 'key=a', providers: ['alga.log'], requestId: 'req-denied' }));
    expect(status).toBe(200);
    expect(guestJson(json)).toMatchObject({ ok: false, error: 'denied' });
    expect(json.execution.denials).toEqual([{ capability: 'alga.storage', reason: 'The install was not granted alga.storage.' }]);
    const events = fixture.runner.events.recent({ tenant: 'tenant-a' }).filter((event) => event.request === 'req-denied');
    expect(events.some((event) => event.message.includes('denied alga.storage'))).toBe(true);
    const metrics = await (await fetch(`${fixture.url}/metrics`)).text();
    expect(metrics).toMatch(/runner_denials_total\{capability="alga.storage"\} [1-9]/);
  });

  it('answers 500 with the request id when the guest throws, then serves the next request', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/throw', requestId: 'req-throw' }));
    expect(status).toBe(500);
    expect(json.request_id).toBe('req-throw');
    expect(json.error.code).toBe('E_RUNNER_GUEST_TRAP');
    expect(json.error.message).toContain('req-throw');
    const stderr = fixture.runner.events.recent().filter((event) => event.request === 'req-throw' && event.stream === 'stderr');
    expect(stderr.map((event) => event.message).join('')).toContain('the guest gave up on purpose');
    const next = await fixture.execute(executeBody({ hash: misbehave, path: '/hello' }));
    expect(next.status).toBe(200);
  });

  it('stops an infinite loop at the deadline with 504, and the next request succeeds', async () => {
    const started = Date.now();
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/loop', limits: { timeout_ms: 700 }, requestId: 'req-loop' }));
    expect(status).toBe(504);
    expect(json.error.code).toBe('E_RUNNER_DEADLINE');
    expect(json.request_id).toBe('req-loop');
    expect(Date.now() - started).toBeLessThan(10_000);
    for (let attempt = 0; attempt < 3; attempt++) {
      const next = await fixture.execute(executeBody({ hash: misbehave, path: '/hello' }));
      expect(next.status).toBe(200);
    }
  });

  it('traps a memory bomb inside its cap while the runner RSS stays bounded', async () => {
    const before = process.memoryUsage().rss;
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/bomb', limits: { memory_mb: 48 }, requestId: 'req-bomb' }));
    expect(status).toBe(500);
    expect(json.error.code).toBe('E_RUNNER_GUEST_MEMORY');
    expect(json.request_id).toBe('req-bomb');
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1048576);
    const next = await fixture.execute(executeBody({ hash: misbehave, path: '/hello', limits: { memory_mb: 48 } }));
    expect(next.status).toBe(200);
  });

  it('keeps a global across requests under the tenant policy and never shares it across tenants', async () => {
    const call = (tenant: string) => fixture.execute(executeBody({ hash: misbehave, path: '/counter', tenant, isolation: 'tenant' }));
    const first = guestJson((await call('tenant-iso-a')).json).counter;
    const second = guestJson((await call('tenant-iso-a')).json).counter;
    expect(second).toBe(first + 1);
    expect(guestJson((await call('tenant-iso-b')).json).counter).toBe(1);
  });

  it('gives every request fresh guest state under the request policy', async () => {
    const counters: number[] = [];
    for (let index = 0; index < 6; index++) {
      const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/counter', tenant: 'tenant-fresh', isolation: 'request' }));
      expect(status).toBe(200);
      counters.push(guestJson(json).counter);
    }
    expect(counters).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('refuses a guest answer with a status outside 200–599 (1xx included) or a header value above Latin-1, and serves the next request', async () => {
    const respond = (status: number, header?: string) =>
      fixture.execute(executeBody({ hash: misbehave, path: '/respond', query: `status=${status}&body=x${header ? `&header=${encodeURIComponent(header)}` : ''}` }));
    for (const status of [100, 101, 103, 199, 600]) {
      const { status: answered, json } = await respond(status);
      expect({ status, answered, code: json.error?.code }).toEqual({ status, answered: 500, code: 'E_RUNNER_GUEST_INVALID_RESPONSE' });
    }
    for (const header of ['x-ext-a:\u20ac', 'x-ext-a:\u0100', 'x-ext-a:\u{1f600}']) {
      const { status, json } = await respond(200, header);
      expect({ header, status, code: json.error?.code }).toEqual({ header, status: 500, code: 'E_RUNNER_GUEST_INVALID_RESPONSE' });
    }
    const latin1 = await respond(200, 'x-ext-a:caf\u00e9');
    expect(latin1.status).toBe(200);
    expect(latin1.json.headers['x-ext-a']).toBe('caf\u00e9');
    expect((await respond(599)).json.status).toBe(599);
    expect((await respond(200)).json.status).toBe(200);
  });

  it('echoes a binary body byte for byte', async () => {
    const body = new Uint8Array(200_000).map((_, index) => (index * 7) % 256);
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/echo', method: 'POST', body }));
    expect(status).toBe(200);
    expect(Buffer.from(json.body_b64, 'base64').equals(Buffer.from(body))).toBe(true);
  });

  it('refuses a request body over the install limit with 413', async () => {
    const { status, json } = await fixture.execute(executeBody({ hash: misbehave, path: '/echo', method: 'POST', body: new Uint8Array(5000), limits: { max_request_bytes: 1000 } }));
    expect(status).toBe(413);
    expect(json.error.code).toBe('E_RUNNER_REQUEST_TOO_LARGE');
  });

  it('captures guest stdout and stderr into the debug events', async () => {
    await fixture.execute(executeBody({ hash: misbehave, path: '/stdout', requestId: 'req-stdout', tenant: 'tenant-stdio' }));
    const response = await fetch(`${fixture.url}/v1/debug/events?tenant=tenant-stdio`, { headers: { authorization: `Bearer ${fixture.token}` } });
    const { events } = (await response.json()) as { events: { stream: string; message: string; request: string }[] };
    const text = (stream: string) => events.filter((event) => event.stream === stream && event.request === 'req-stdout').map((event) => event.message).join('');
    expect(text('stdout')).toContain('hello on stdout');
    expect(text('stderr')).toContain('hello on stderr');
  });

  it('streams debug events as Server-Sent Events to a token holder', async () => {
    const abort = new AbortController();
    const response = await fetch(`${fixture.url}/v1/debug/events?tenant=tenant-sse`, {
      headers: { authorization: `Bearer ${fixture.token}`, accept: 'text/event-stream' },
      signal: abort.signal,
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    await fixture.execute(executeBody({ hash: misbehave, path: '/stdout', tenant: 'tenant-sse', requestId: 'req-sse' }));
    const reader = response.body!.getReader();
    let text = '';
    while (!text.includes('hello on stderr')) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
    const first = JSON.parse(/^data: (.+)$/m.exec(text)![1]);
    expect(first).toMatchObject({ tenant: 'tenant-sse', request: 'req-sse' });
    const refused = await fetch(`${fixture.url}/v1/debug/events`, { headers: { accept: 'text/event-stream' } });
    expect(refused.status).toBe(401);
  });

  it('answers 429 with Retry-After when a tenant passes its concurrency limit', async () => {
    const limited = await startFixture({ concurrency: { perTenant: 1 } });
    try {
      const hash = limited.publish(guestDir('misbehave'));
      const slow = limited.execute(executeBody({ hash, path: '/loop', limits: { timeout_ms: 1500 } }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const refused = await limited.execute(executeBody({ hash, path: '/hello' }));
      expect(refused.status).toBe(429);
      expect(refused.json.error.code).toBe('E_RUNNER_BUSY');
      expect(refused.headers.get('retry-after')).toBe('1');
      const other = await limited.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-other' }));
      expect(other.status).toBe(200);
      expect((await slow).status).toBe(504);
    } finally {
      await limited.close();
    }
  });
});

describe('runner: a job posted behind a running one', () => {
  let fixture: RunnerFixture;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1 });
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('runs on the replacement worker when the job ahead of it passes its deadline', async () => {
    expect((await fixture.execute(executeBody({ hash: misbehave, path: '/hello', tenant: 'tenant-behind' }))).status).toBe(200);
    const loop = fixture.execute(executeBody({ hash: misbehave, path: '/loop', tenant: 'tenant-behind', limits: { timeout_ms: 800 }, requestId: 'req-ahead' }));
    await new Promise((resolve) => setTimeout(resolve, 200)); // the loop is running: the next job waits behind it in the same worker
    const behind = fixture.execute(executeBody({ hash: misbehave, path: '/counter', tenant: 'tenant-behind', requestId: 'req-behind' }));
    expect((await loop).status).toBe(504);
    const { status, json } = await behind;
    expect(status).toBe(200);
    expect(json.execution.request_id).toBe('req-behind');
    expect(guestJson(json)).toEqual({ counter: 1 }); // a fresh instance on the new worker
  });
});
