// Audit of issue 3 (the runner): the review-only findings, each with the fix's test.
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunner, type Runner } from '../../runner/index.ts';
import { isPrivateAddress } from '../../runner/capabilities/egress-address.ts';
import { DebugEvents } from '../../runner/debug/events.ts';
import { guestWasiImports, maxHostAllocationBytes } from '../../runner/pool/guest-environment.ts';
import { maxResponseHeaders, responseHeaders } from '../../runner/response-headers.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, packOnce, signatureFor, startFixture, uiRequest, type RunnerFixture } from '../runner/support.ts';
import { publishRawGuest } from './raw-guest.ts';
import { startSilenceableRedis } from './silent-redis.ts';

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code ?? 'thrown';
  }
  return undefined;
};

describe('runner audit: ext-ui', () => {
  let fixture: RunnerFixture;
  let hash: string;
  beforeAll(async () => {
    fixture = await startFixture();
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  /** GET of an install's UI file at its own origin (the Host a browser would send), with a ticket the host would sign. */
  const getUi = (extensionId: string, file = '') => {
    const ui = uiRequest(fixture, { extensionId, hash, file });
    return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json(): Promise<any> }>((resolve, reject) => {
      const outgoing = httpRequest({ host: '127.0.0.1', port: new URL(fixture.url).port, path: ui.path, headers: { host: ui.host } }, (response) => {
        let body = '';
        response.on('data', (chunk) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, json: async () => JSON.parse(body) }));
      });
      outgoing.on('error', reject);
      outgoing.end();
    });
  };

  it('sandboxes the UI document by CSP, also when it is opened outside an iframe', async () => {
    const response = await getUi('test.guests.misbehave');
    expect(response.status).toBe(200);
    const csp = String(response.headers['content-security-policy']);
    expect(csp).toMatch(/(^|; )sandbox allow-scripts allow-forms( |;|$)/);
  });

  it('answers 404 when the extension id in the URL is not the bundle manifest name', async () => {
    const response = await getUi('com.example.other');
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe('E_RUNNER_UI_NOT_FOUND');
  });

  it('counts denials past the per-execution list in denials_dropped', async () => {
    const rawHash = await publishRawGuest(fixture.bundleDir, fixture.signingKeys.test, { logCalls: 300 });
    const { status, json } = await fixture.execute(executeBody({ hash: rawHash, path: '/x', providers: [] }));
    expect(status).toBe(200);
    expect(json.execution.denials.length).toBe(100);
    expect(json.execution.denials_dropped).toBe(200);
  });

  it('shares one debug-event budget per execution between denials and alga.log', async () => {
    const small = await startFixture({ limits: { maxDebugEventsPerExecution: 50 } });
    try {
      const flood = await publishRawGuest(small.bundleDir, small.signingKeys.test, { logCalls: 300 });
      const denied = await small.execute(executeBody({ hash: flood, path: '/x', providers: [], requestId: 'req-audit-budget-denials' }));
      expect(denied.status).toBe(200);
      expect(denied.json.execution.debug_events_dropped).toBe(250);
      expect(small.runner.events.recent().filter((event) => event.request === 'req-audit-budget-denials').length).toBe(50);
      const logs = await publishRawGuest(small.bundleDir, small.signingKeys.test, { logCalls: 80 });
      const logged = await small.execute(executeBody({ hash: logs, path: '/x', providers: ['alga.log'], requestId: 'req-audit-budget-logs' }));
      expect(logged.status).toBe(200);
      expect(logged.json.execution.log_events).toBe(50);
      expect(small.runner.events.recent().filter((event) => event.request === 'req-audit-budget-logs').length).toBe(50);
    } finally {
      await small.close();
    }
  });
});

describe('runner audit: guest-controlled sizes', () => {
  it('refuses WASI allocations above the per-call limit (random bytes, write-zeroes)', () => {
    const imports = guestWasiImports(() => {});
    const random = imports['wasi:random/random'] as { getRandomBytes(length: bigint): Uint8Array };
    const insecure = imports['wasi:random/insecure'] as { getInsecureRandomBytes(length: bigint): Uint8Array };
    expect(random.getRandomBytes(BigInt(maxHostAllocationBytes)).length).toBe(maxHostAllocationBytes);
    expect(codeOf(() => random.getRandomBytes(BigInt(maxHostAllocationBytes) + 1n))).toBe('thrown');
    expect(codeOf(() => insecure.getInsecureRandomBytes(2n ** 40n))).toBe('thrown');
    const stdout = (imports['wasi:cli/stdout'] as { getStdout(): { writeZeroes(length: bigint): void; blockingWriteZeroesAndFlush(length: bigint): void } }).getStdout();
    expect(codeOf(() => stdout.writeZeroes(2n ** 33n))).toBe('thrown');
    expect(codeOf(() => stdout.blockingWriteZeroesAndFlush(2n ** 33n))).toBe('thrown');
  });

  it('bounds the response header count and refuses header names and values that are not valid HTTP', () => {
    const many = Array.from({ length: maxResponseHeaders + 1 }, (_, index) => [`x-h${index}`, 'v'] as [string, string]);
    expect(codeOf(() => responseHeaders(many, 0, 10_000_000))).toBe('E_RUNNER_RESPONSE_TOO_LARGE');
    expect(codeOf(() => responseHeaders([['x-a', 'a'.repeat(100)]], 950, 1000))).toBe('E_RUNNER_RESPONSE_TOO_LARGE');
    expect(codeOf(() => responseHeaders([['x-a', 'one\r\nset-cookie: evil=1']], 0, 1000))).toBe('E_RUNNER_GUEST_INVALID_RESPONSE');
    expect(codeOf(() => responseHeaders([['bad name', 'v']], 0, 1000))).toBe('E_RUNNER_GUEST_INVALID_RESPONSE');
    expect(codeOf(() => responseHeaders([['x:a', 'v']], 0, 1000))).toBe('E_RUNNER_GUEST_INVALID_RESPONSE');
    expect(responseHeaders([['X-A', 'one'], ['x-a', 'two'], ['Connection', 'close'], ['x-tab', 'a\tb']], 0, 1000)).toEqual({ 'x-a': 'one, two', 'x-tab': 'a\tb' });
  });
});

describe('runner audit: egress addresses', () => {
  it('refuses IPv6 forms that carry an IPv4 address (SIIT, 6to4, Teredo, local NAT64)', () => {
    for (const address of ['::ffff:0:127.0.0.1', '::ffff:0:a00:1', '2002:7f00:1::1', '2002:808:808::1', '2001:0:4136:e378:8000:63bf:3fff:fdd2', '64:ff9b:1::a00:1']) {
      expect(isPrivateAddress(address), address).toBe(true);
    }
    for (const address of ['2001:4860:4860::8888', '2606:4700:4700::1111', '::ffff:0:8.8.8.8', '64:ff9b::808:808']) {
      expect(isPrivateAddress(address), address).toBe(false);
    }
  });
});

describe('runner audit: debug events', () => {
  it('keeps other tenants\' events in the ring when one tenant floods it', async () => {
    const events = new DebugEvents({ streamPrefix: 'ext-debug', maxLen: 10, maxEventBytes: 100, ringSize: 10 }, new Registry());
    const emit = (tenant: string, message: string) =>
      events.emitEvent({ level: 'info', stream: 'log', tenant, extension: 'ext', install: 'i', request: 'r', version: '1', content_hash: 'sha256:x', message });
    try {
      emit('tenant-quiet', 'quiet 1');
      for (let index = 0; index < 100; index++) emit('tenant-loud', `loud ${index}`);
      emit('tenant-quiet', 'quiet 2');
      expect(events.recent({ tenant: 'tenant-quiet' }).map((event) => event.message)).toEqual(['quiet 1', 'quiet 2']);
      expect(events.recent().length).toBe(10);
      expect(events.recent().map((event) => event.id)).toEqual([...events.recent().map((event) => event.id)].sort((a, b) => a - b));
    } finally {
      await events.close();
    }
  });

  it('encodes ids in the stream key, keeping plain ids as they were', async () => {
    const events = new DebugEvents({ streamPrefix: 'ext-debug', maxLen: 10, maxEventBytes: 100, ringSize: 10 }, new Registry());
    try {
      expect(events.streamKey('tenant-a', 'com.example.hello')).toBe('ext-debug:tenant-a:com.example.hello');
      expect(events.streamKey('acme:eu', 'crm')).toBe('ext-debug:acme%3Aeu:crm');
    } finally {
      await events.close();
    }
  });

  it('drops and counts writes beyond 1,000 in flight to a Redis that stopped answering', async () => {
    const proxy = await startSilenceableRedis();
    const registry = new Registry();
    const events = new DebugEvents({ redisUrl: proxy.url, streamPrefix: `test-audit-inflight-${process.pid}`, maxLen: 10, maxEventBytes: 100, ringSize: 10 }, registry);
    try {
      const redis = (events as unknown as { redis: { status: string } }).redis;
      for (let attempt = 0; attempt < 100 && redis.status !== 'ready'; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(redis.status).toBe('ready');
      proxy.silence();
      for (let index = 0; index < 1500; index++) events.emitEvent({ level: 'info', stream: 'log', tenant: 't', extension: 'e', install: 'i', request: 'r', version: '1', content_hash: 'sha256:x', message: `m${index}` });
      // Counted at once, long before the command timeout gives up on the first thousand.
      const errors = Number(/runner_debug_redis_errors_total (\d+)/.exec(await registry.getSingleMetricAsString('runner_debug_redis_errors_total'))?.[1] ?? 0);
      expect(errors).toBe(500);
    } finally {
      await events.close();
      proxy.close();
    }
  });
});

describe('runner audit: registry answers', () => {
  const servers: Server[] = [];
  const dirs: string[] = [];
  const runners: Runner[] = [];
  const listen = (handler: Parameters<typeof createServer>[1]) =>
    new Promise<string>((resolve) => {
      const server = createServer(handler);
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`));
    });
  const runnerFor = (registryUrl: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-audit-'));
    dirs.push(dataDir);
    const runner = createRunner({ dataDir, registryUrl, serviceToken: 't', trustBundle: { version: 1, keys: [] }, workers: 1 });
    runners.push(runner);
    return runner;
  };
  const codeFor = async (runner: Runner) => {
    const result = await runner.execute(executeBody({ hash: `sha256:${'c'.repeat(64)}`, path: '/hello' }));
    return result.ok ? 'ok' : `${result.error.status} ${result.error.code}`;
  };
  afterAll(async () => {
    for (const runner of runners) await runner.close();
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('tells an unreachable registry (503) from a registry that answers badly (502) and from an unknown bundle (404)', async () => {
    const closed = await listen(() => {});
    servers.at(-1)!.close();
    servers.at(-1)!.closeAllConnections();
    expect(await codeFor(runnerFor(closed))).toBe('503 E_RUNNER_REGISTRY_UNAVAILABLE');
    const failing = await listen((_request, response) => {
      response.statusCode = 500;
      response.end('oops');
    });
    expect(await codeFor(runnerFor(failing))).toBe('502 E_RUNNER_REGISTRY_BAD_ANSWER');
    const missing = await listen((_request, response) => {
      response.statusCode = 404;
      response.end();
    });
    expect(await codeFor(runnerFor(missing))).toBe('404 E_RUNNER_BUNDLE_NOT_FOUND');
  });

  it('stops reading a streamed blob at the archive limit and answers 502', async () => {
    let sent = 0;
    const huge = await listen((request, response) => {
      if (!request.url?.endsWith('/blob')) return response.end('{}');
      response.writeHead(200, { 'content-type': 'application/octet-stream' }); // no content-length: streamed
      const chunk = Buffer.alloc(1048576);
      const pump = () => {
        while (sent < 1024 * 1048576 && response.write(chunk)) sent += chunk.length;
        if (sent < 1024 * 1048576) response.once('drain', pump);
        else response.end();
      };
      response.on('close', () => (sent = Infinity));
      pump();
    });
    expect(await codeFor(runnerFor(huge))).toBe('502 E_RUNNER_REGISTRY_BAD_ANSWER');
  }, 30_000);

  it('still loads a good bundle from the registry', async () => {
    const bundle = packOnce(guestDir('misbehave'));
    const signing = await startFixture();
    try {
      const registryUrl = await listen((request, response) => {
        if (request.url?.endsWith('/blob')) return response.end(bundle.bytes);
        response.setHeader('content-type', 'application/json');
        response.end(JSON.stringify(signatureFor(bundle.hash, signing.signingKeys.test)));
      });
      const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-audit-'));
      dirs.push(dataDir);
      const runner = createRunner({ dataDir, registryUrl, trustBundle: signing.trust, workers: 1 });
      runners.push(runner);
      const result = await runner.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
      expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
    } finally {
      await signing.close();
    }
  });
});

describe('runner audit: shutdown', () => {
  it('answers 503 E_RUNNER_SHUTTING_DOWN to a job cut off by close', async () => {
    const fixture = await startFixture({ workers: 1 });
    const hash = fixture.publish(guestDir('misbehave'));
    expect((await fixture.execute(executeBody({ hash, path: '/hello' }))).status).toBe(200);
    const running = fixture.runner.execute(executeBody({ hash, path: '/loop', limits: { timeout_ms: 20_000 } }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fixture.close();
    const result = await running;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(`${result.error.status} ${result.error.code}`).toBe('503 E_RUNNER_SHUTTING_DOWN');
  });
});

describe('runner audit: queue wait', () => {
  it('answers 503 E_RUNNER_QUEUE_TIMEOUT with Retry-After to a job that waited too long for a worker, instead of running it late', async () => {
    // No reserve worker: with one, the other tenant's job would start there at once (test/runner/scheduler.test.ts).
    const fixture = await startFixture({ workers: 1, reserveWorkers: 0, concurrency: { maxQueueWaitMs: 300 } });
    try {
      const hash = fixture.publish(guestDir('misbehave'));
      expect((await fixture.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-warm' }))).status).toBe(200);
      let loopEnded = false;
      const loop = fixture.execute(executeBody({ hash, path: '/loop', tenant: 'tenant-busy', limits: { timeout_ms: 3_000 } })).finally(() => (loopEnded = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      // Another tenant's instance: not posted behind the loop, so it waits in the pool queue.
      const late = await fixture.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-late' }));
      expect(loopEnded, 'the queued job was answered only when the loop ended, not at its queue deadline').toBe(false);
      expect(late.status).toBe(503);
      expect(late.json.error.code).toBe('E_RUNNER_QUEUE_TIMEOUT');
      expect(late.headers.get('retry-after')).toBe('1');
      expect((await loop).status).toBe(504);
      // The looping worker is replaced; until the new one is up (slow on a busy machine), a call
      // may again wait past the 300 ms queue deadline. Then the tenant is served.
      let after = await fixture.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-late' }));
      for (const deadline = Date.now() + 30_000; after.status === 503 && Date.now() < deadline; ) {
        expect(after.json.error.code).toBe('E_RUNNER_QUEUE_TIMEOUT');
        await new Promise((resolve) => setTimeout(resolve, 200));
        after = await fixture.execute(executeBody({ hash, path: '/hello', tenant: 'tenant-late' }));
      }
      expect(after.status).toBe(200);
    } finally {
      await fixture.close();
    }
  });
});
