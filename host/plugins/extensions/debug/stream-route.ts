import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { actorOf } from '../../../core/auth/index.ts';
import type { HostContext } from '../../../core/plugin.ts';
import { debugTenantOf } from './access.ts';
import type { DebugEventSource, DebugStreamEvent } from './debug-event.ts';
import { isStreamId, redisDebugSource } from './redis-source.ts';
import { runnerDebugSource } from './runner-source.ts';
import { openSse, sseHeaders } from './sse.ts';
import { debugStreamKey } from '../../../../runner/debug/stream-key.ts';

export interface DebugStreamOptions {
  host: Pick<HostContext, 'auth' | 'audit' | 'config' | 'runner' | 'log'>;
  /** When given, only extensions installed for the tenant can be debugged (404 otherwise). */
  installs?: { get(tenantId: string, extensionId: string): unknown };
}

const extensionIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const tenantIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `GET /api/ext-debug/stream?extensionId=[&tenantId=][&after=]` — Server-Sent Events with an
 * extension's debug events (stdout, stderr, logs) for a caller holding `ext:debug` on the tenant.
 * Reads Redis Streams (`XREAD BLOCK` on `{prefix}:{tenant}:{extension}`) when
 * RUNNER_DEBUG_REDIS_URL is set, the runner's event ring otherwise. A session ends after
 * EXT_DEBUG_SESSION_TTL_MS (default 15 minutes); its start and end are audited.
 */
export async function registerDebugStream(routes: FastifyInstance, { host, installs }: DebugStreamOptions): Promise<void> {
  const env = host.config.env;
  const redisUrl = env.RUNNER_DEBUG_REDIS_URL || undefined;
  const streamPrefix = env.RUNNER_DEBUG_REDIS_STREAM_PREFIX || 'ext-debug';
  const ttlMs = positive(env.EXT_DEBUG_SESSION_TTL_MS, 15 * 60_000);
  const heartbeatMs = positive(env.EXT_DEBUG_HEARTBEAT_MS, 15_000);
  const active = new Set<AbortController>();
  routes.addHook('preClose', async () => {
    for (const session of active) session.abort('host-closing');
  });

  routes.get('/api/ext-debug/stream', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    const principal = host.auth.principalOf(request);
    const extensionId = query.extensionId;
    let tenantId: string;
    try {
      if (!extensionId || !extensionIdPattern.test(extensionId)) throw new AlgaError('E_REQUEST_INVALID', 'Name the extension with ?extensionId=.');
      if (query.tenantId !== undefined && !tenantIdPattern.test(query.tenantId)) throw new AlgaError('E_REQUEST_INVALID', 'tenantId is not a tenant id.');
      tenantId = debugTenantOf(principal, query.tenantId);
    } catch (error) {
      if (principal && error instanceof AlgaError && error.code === 'E_AUTH_FORBIDDEN') {
        host.audit.record({ action: 'debug.session.denied', outcome: 'denied', actor: actorOf(principal), tenantId: principal.tenantId, target: `extension:${String(extensionId)}` });
      }
      throw error;
    }
    if (installs && !(await installs.get(tenantId, extensionId))) throw new AlgaError('E_INSTALL_NOT_FOUND', `"${extensionId}" is not installed for tenant "${tenantId}", so it has no debug stream there.`);
    // A HEAD learns whether the stream would open (the checks above), without opening a session.
    if (request.method === 'HEAD') return reply.headers(sseHeaders).send();

    const after = resumeFrom(request, query.after, redisUrl !== undefined);
    const source: DebugEventSource = redisUrl
      ? redisDebugSource({ redisUrl, streamKey: debugStreamKey(streamPrefix, tenantId, extensionId), after, onError: (error) => host.log.warn({ err: error.message }, 'debug stream redis error') })
      : runnerDebugSource({ baseUrl: () => host.runner.checkUrl(), serviceToken: host.runner.serviceToken, tenant: tenantId, extension: extensionId, after: after === undefined ? undefined : Number(after) });

    const session = new AbortController();
    reply.raw.on('close', () => session.abort('client-closed'));
    let events: AsyncIterable<DebugStreamEvent>;
    try {
      events = await source(session.signal);
    } catch (error) {
      host.log.warn({ err: (error as Error).message }, 'debug stream source unavailable');
      throw new AlgaError('E_RUNNER_UNAVAILABLE', `Debug events could not be read from ${redisUrl ? 'Redis' : 'the runner'}.`);
    }

    const sessionId = randomUUID();
    const expiresAt = new Date(Date.now() + ttlMs).toISOString();
    const actor = actorOf(principal);
    const target = `extension:${extensionId}`;
    const sourceName = redisUrl ? 'redis' : 'runner';
    host.audit.record({ action: 'debug.session.started', actor, tenantId, target, detail: { sessionId, source: sourceName, expiresAt } });

    if (reply.raw.destroyed) session.abort('client-closed');
    active.add(session);
    const sse = openSse(reply);
    const expiry = setTimeout(() => session.abort('expired'), ttlMs);
    const heartbeat = setInterval(() => sse.comment('keep-alive'), heartbeatMs);

    let delivered = 0;
    let endReason = 'source-ended';
    sse.send('session', { sessionId, tenantId, extensionId, source: sourceName, expiresAt });
    try {
      for await (const event of events) {
        if (session.signal.aborted) break;
        sse.send('debug', event, event.id);
        delivered += 1;
      }
      if (session.signal.aborted) endReason = String(session.signal.reason);
    } catch (error) {
      endReason = 'source-failed';
      host.log.warn({ err: (error as Error).message, sessionId }, 'debug stream source failed');
      const failure = new AlgaError('E_RUNNER_UNAVAILABLE', `Debug events could not be read from ${sourceName}.`);
      sse.send('failed', failure.toJSON());
    } finally {
      clearTimeout(expiry);
      clearInterval(heartbeat);
      active.delete(session);
      if (endReason === 'expired') sse.send('expired', { sessionId, expiresAt });
      sse.end();
      host.audit.record({ action: 'debug.session.ended', actor, tenantId, target, detail: { sessionId, reason: endReason, events: delivered } });
    }
  });
}

/** Where to resume: `?after=` or the browser's `Last-Event-ID` (a stream id for Redis, a number for the runner). */
function resumeFrom(request: FastifyRequest, after: string | undefined, redis: boolean): string | undefined {
  const candidate = after ?? (request.headers['last-event-id'] as string | undefined);
  if (candidate === undefined || candidate === '') return undefined;
  const valid = redis ? isStreamId(candidate) : /^\d+$/.test(candidate);
  if (!valid) throw new AlgaError('E_REQUEST_INVALID', `"after" must be a ${redis ? 'Redis stream id' : 'event number'}.`);
  return candidate;
}

function positive(value: string | undefined, fallback: number): number {
  const number = Number(value);
  return value && Number.isInteger(number) && number > 0 ? number : fallback;
}
