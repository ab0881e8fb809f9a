import cookie from '@fastify/cookie';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditLog, type AuditLog } from '../../host/core/audit.ts';
import { createAuth, type HostAuth } from '../../host/core/auth/index.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { registerDebugStream } from '../../host/plugins/extensions/debug/index.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { createRunner, startRunnerServer, type Runner } from '../../runner/index.ts';
import { SseReader } from './sse-client.ts';

const redisUrl = 'redis://127.0.0.1:6379';
const prefix = `ui-test-${randomBytes(6).toString('hex')}`;
const extensionId = 'com.example.kv-counter';
const installed = new Set([`tenant-a/${extensionId}`, `tenant-b/${extensionId}`]);

let dataDir: string;
let store: HostStore;
let auth: HostAuth;
let audit: AuditLog;
let redis: Redis;
const tokens: Record<string, string> = {};
const servers: FastifyInstance[] = [];

/** A host with the debug stream route, reading Redis (or, with `runnerUrl`, a runner's event ring). */
async function hostWithDebugStream(env: Record<string, string>, runnerUrl?: string, serviceToken = 'runner-service-token'): Promise<string> {
  const app = Fastify();
  app.setErrorHandler((error, _request, reply) => {
    const status = error instanceof AlgaError ? error.status : 500;
    return reply.code(status).send({ error: { code: (error as AlgaError).code ?? 'E_INTERNAL', message: (error as Error).message } });
  });
  await app.register(cookie, { secret: 'y'.repeat(32) });
  await registerDebugStream(app, {
    host: {
      auth,
      audit,
      log: app.log,
      config: { env } as never,
      runner: { baseUrl: () => runnerUrl, checkUrl: () => runnerUrl, serviceToken } as never,
    },
    installs: { get: (tenantId, id) => (installed.has(`${tenantId}/${id}`) ? ({ extensionId: id } as never) : undefined) },
  });
  servers.push(app);
  return app.listen({ host: '127.0.0.1', port: 0 });
}

function stream(baseUrl: string, token: string | undefined, query: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${baseUrl}/api/ext-debug/stream?${query}`, { headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}

function xadd(tenant: string, message: string): Promise<string | null> {
  return redis.xadd(`${prefix}:${tenant}:${extensionId}`, '*', 'ts', new Date().toISOString(), 'level', 'info', 'stream', 'stdout', 'request', 'req-1', 'message', message, 'truncated', 'false');
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'alga-ui-debug-'));
  store = openStore(dataDir);
  audit = createAuditLog(store);
  auth = createAuth({ store, audit });
  auth.createTenant({ id: 'tenant-a', name: 'A' });
  auth.createTenant({ id: 'tenant-b', name: 'B' });
  tokens.debugA = auth.createToken({ kind: 'tenant', tenantId: 'tenant-a', scopes: ['ext:debug'], label: 'debug a' }).token;
  tokens.callA = auth.createToken({ kind: 'tenant', tenantId: 'tenant-a', scopes: ['ext:call'], label: 'call a' }).token;
  tokens.operator = auth.createToken({ kind: 'service', scopes: ['admin'], label: 'operator' }).token;
  redis = new Redis(redisUrl);
});

afterAll(async () => {
  for (const app of servers) await app.close();
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
  await store?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('debug stream from Redis Streams', () => {
  let baseUrl: string;
  beforeAll(async () => {
    baseUrl = await hostWithDebugStream({ RUNNER_DEBUG_REDIS_URL: redisUrl, RUNNER_DEBUG_REDIS_STREAM_PREFIX: prefix });
  });

  it("delivers the tenant's events for the extension as they are written, and no other tenant's", async () => {
    const response = await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = new SseReader(response);
    const session = await events.next();
    expect(session?.event).toBe('session');
    expect(session?.data).toMatchObject({ tenantId: 'tenant-a', extensionId, source: 'redis' });

    await xadd('tenant-a', 'first line');
    await xadd('tenant-b', 'secret of tenant b');
    const secondId = await xadd('tenant-a', 'second line');
    const first = await events.next();
    const second = await events.next();
    expect(first).toMatchObject({ event: 'debug', data: { message: 'first line', level: 'info', stream: 'stdout', request: 'req-1', truncated: false } });
    expect(second).toMatchObject({ event: 'debug', id: secondId, data: { message: 'second line' } });
    await events.cancel();

    await expect.poll(() => audit.list({ tenantId: 'tenant-a', action: 'debug.session.started' }).length).toBeGreaterThan(0);
    const entries = audit.list({ tenantId: 'tenant-a', action: 'debug.session.started' });
    expect(entries[0]).toMatchObject({ actor: expect.stringMatching(/^token:/), target: `extension:${extensionId}`, detail: { sessionId: session?.data.sessionId, source: 'redis' } });
  });

  it('answers HEAD with the stream\'s status and headers at once, opening no session', async () => {
    const sessions = () => audit.list({ tenantId: 'tenant-a', action: 'debug.session.started' }).length;
    const before = sessions();
    const head = await fetch(`${baseUrl}/api/ext-debug/stream?extensionId=${extensionId}`, { method: 'HEAD', headers: { authorization: `Bearer ${tokens.debugA}` } });
    expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, 'text/event-stream; charset=utf-8', '']);
    expect((await fetch(`${baseUrl}/api/ext-debug/stream?extensionId=com.example.not-installed`, { method: 'HEAD', headers: { authorization: `Bearer ${tokens.debugA}` } })).status).toBe(404);
    expect(sessions()).toBe(before);
  });

  it('resumes after a given event id (Last-Event-ID)', async () => {
    const fromId = await xadd('tenant-a', 'before resume');
    await xadd('tenant-a', 'after resume');
    const response = await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`, { 'last-event-id': fromId! });
    const events = new SseReader(response);
    expect((await events.next())?.event).toBe('session');
    expect((await events.next())?.data.message).toBe('after resume');
    await events.cancel();
  });

  it('refuses callers without debug access on the tenant, and audits the refusal', async () => {
    expect((await stream(baseUrl, undefined, `extensionId=${extensionId}`)).status).toBe(401);
    const noScope = await stream(baseUrl, tokens.callA, `extensionId=${extensionId}`);
    expect(noScope.status).toBe(403);
    expect((await noScope.json()).error.code).toBe('E_AUTH_FORBIDDEN');
    const otherTenant = await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}&tenantId=tenant-b`);
    expect(otherTenant.status).toBe(403);
    await expect.poll(() => audit.list({ tenantId: 'tenant-a', action: 'debug.session.denied' }).length).toBeGreaterThanOrEqual(2);
    expect((await stream(baseUrl, tokens.debugA, 'extensionId=com.example.not-installed')).status).toBe(404);
    expect((await stream(baseUrl, tokens.debugA, 'extensionId=')).status).toBe(400);
    expect((await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}&after=nope`)).status).toBe(400);
  });

  it('lets an operator without a tenant debug the tenant it names', async () => {
    expect((await stream(baseUrl, tokens.operator, `extensionId=${extensionId}`)).status).toBe(400);
    const response = await stream(baseUrl, tokens.operator, `extensionId=${extensionId}&tenantId=tenant-b`);
    const events = new SseReader(response);
    expect((await events.next())?.data.tenantId).toBe('tenant-b');
    await xadd('tenant-b', 'operator sees b');
    expect((await events.next())?.data.message).toBe('operator sees b');
    await events.cancel();
  });
});

describe('debug stream when Redis is down', () => {
  it('answers 502 with a code, and opens no session', async () => {
    const baseUrl = await hostWithDebugStream({ RUNNER_DEBUG_REDIS_URL: 'redis://127.0.0.1:1', RUNNER_DEBUG_REDIS_STREAM_PREFIX: prefix });
    const response = await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`);
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body.error.code).toBe('E_RUNNER_UNAVAILABLE');
    expect(JSON.stringify(body)).not.toContain('127.0.0.1:1');
  });
});

describe('debug session expiry', () => {
  it('ends the stream when the session TTL passes and audits the end', async () => {
    const baseUrl = await hostWithDebugStream({ RUNNER_DEBUG_REDIS_URL: redisUrl, RUNNER_DEBUG_REDIS_STREAM_PREFIX: prefix, EXT_DEBUG_SESSION_TTL_MS: '400' });
    const events = new SseReader(await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`));
    const session = await events.next();
    const expired = await events.next();
    expect(expired?.event).toBe('expired');
    expect(await events.next()).toBeNull();
    await expect.poll(() => audit.list({ tenantId: 'tenant-a', action: 'debug.session.ended' }).some((entry) => entry.detail?.sessionId === session?.data.sessionId)).toBe(true);
    const ended = audit.list({ tenantId: 'tenant-a', action: 'debug.session.ended' }).find((entry) => entry.detail?.sessionId === session?.data.sessionId);
    expect(ended?.detail).toMatchObject({ reason: 'expired' });
  });
});

describe('debug events written by the runner', () => {
  const emit = (runner: Runner, tenant: string, message: string, level: 'info' | 'warn' = 'info') =>
    runner.events.emitEvent({ level, stream: 'stdout', tenant, extension: extensionId, install: 'inst-1', request: 'req-9', version: '1.0.0', content_hash: 'sha256:00', message });

  it("reach the SSE stream through Redis Streams (the runner's XADD, the host's XREAD)", async () => {
    const runnerDir = mkdtempSync(join(tmpdir(), 'alga-ui-debug-runner-'));
    const runner = createRunner({ dataDir: runnerDir, workers: 1, debug: { redisUrl, streamPrefix: prefix } });
    try {
      const baseUrl = await hostWithDebugStream({ RUNNER_DEBUG_REDIS_URL: redisUrl, RUNNER_DEBUG_REDIS_STREAM_PREFIX: prefix });
      const events = new SseReader(await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`));
      expect((await events.next())?.event).toBe('session');
      emit(runner, 'tenant-b', 'not for tenant a');
      emit(runner, 'tenant-a', 'written by the runner', 'warn');
      expect(await events.next()).toMatchObject({ event: 'debug', data: { message: 'written by the runner', level: 'warn', request: 'req-9', content_hash: 'sha256:00', truncated: false } });
      await events.cancel();
    } finally {
      await runner.close();
      rmSync(runnerDir, { recursive: true, force: true });
    }
  });

  it("are read from the runner's event ring with the service token when Redis is not configured", async () => {
    const runnerDir = mkdtempSync(join(tmpdir(), 'alga-ui-debug-runner-'));
    const server = await startRunnerServer({ dataDir: runnerDir, workers: 1, serviceToken: 'runner-service-token' });
    try {
      emit(server.runner, 'tenant-a', 'from the ring');
      emit(server.runner, 'tenant-b', 'ring entry of tenant b');
      const baseUrl = await hostWithDebugStream({}, server.url);
      const events = new SseReader(await stream(baseUrl, tokens.debugA, `extensionId=${extensionId}`));
      expect((await events.next())?.data.source).toBe('runner');
      expect(await events.next()).toMatchObject({ event: 'debug', data: { message: 'from the ring', tenant: 'tenant-a' } });
      emit(server.runner, 'tenant-a', 'later', 'warn');
      expect(await events.next()).toMatchObject({ event: 'debug', data: { message: 'later', level: 'warn' } });
      await events.cancel();
      // HEAD on the runner's stream answers its headers and ends (it never holds the connection open).
      const head = await fetch(`${server.url}/v1/debug/events?tenant=tenant-a`, { method: 'HEAD', headers: { authorization: 'Bearer runner-service-token', accept: 'text/event-stream' } });
      expect([head.status, head.headers.get('content-type'), await head.text()]).toEqual([200, 'text/event-stream', '']);

      const wrongToken = await hostWithDebugStream({}, server.url, 'not-the-service-token');
      const refused = await stream(wrongToken, tokens.debugA, `extensionId=${extensionId}`);
      expect(refused.status).toBe(502);
      expect((await refused.json()).error.code).toBe('E_RUNNER_UNAVAILABLE');
    } finally {
      await server.close();
      rmSync(runnerDir, { recursive: true, force: true });
    }
  });
});
