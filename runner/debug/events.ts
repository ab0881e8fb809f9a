import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { debugStreamKey } from './stream-key.ts';

/** A write to Redis that has not answered within this time is given up (and counted). */
const redisCommandTimeoutMs = 1_000;
/** Above this many writes waiting for Redis, new events are not sent (and counted). */
const maxRedisWritesInFlight = 1_000;

/** One debug event, with the fields the Redis stream carries. */
export interface DebugEvent {
  id: number;
  ts: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  stream: 'stdout' | 'stderr' | 'log';
  tenant: string;
  extension: string;
  install: string;
  request: string;
  version: string;
  content_hash: string;
  message: string;
  truncated: boolean;
}

export interface DebugEventsConfig {
  redisUrl?: string;
  streamPrefix: string;
  maxLen: number;
  maxEventBytes: number;
  ringSize: number;
}

/**
 * Debug events (guest stdout/stderr, logs, denials): always kept in an in-memory ring, and
 * appended to the Redis stream `{prefix}:{tenant}:{extension}` when Redis is configured.
 * Redis failures are counted and otherwise ignored: they never fail an execution.
 * The ring is shared fairly: when it is full, the oldest event of the tenant holding the most goes.
 */
export class DebugEvents extends EventEmitter {
  /** The ring, per tenant (oldest first); `ringCount` events in all. */
  private readonly ring = new Map<string, DebugEvent[]>();
  private ringCount = 0;
  private redisInFlight = 0;
  private nextId = 1;
  private readonly redis?: Redis;
  private readonly redisErrors: Counter;
  private readonly emitted: Counter;

  constructor(
    private readonly config: DebugEventsConfig,
    registry: Registry,
  ) {
    super();
    this.setMaxListeners(0);
    this.redisErrors = new Counter({ name: 'runner_debug_redis_errors_total', help: 'Debug events not written to Redis (failed, timed out, or dropped above 1,000 writes in flight).', registers: [registry] });
    this.emitted = new Counter({ name: 'runner_debug_events_total', help: 'Debug events by stream.', labelNames: ['stream'], registers: [registry] });
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, {
        lazyConnect: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: 2_000,
        commandTimeout: redisCommandTimeoutMs,
        retryStrategy: (attempt) => Math.min(attempt * 500, 5_000),
      });
      this.redis.on('error', () => {}); // counted per write; reconnects on its own
    }
  }

  streamKey(tenant: string, extension: string): string {
    return debugStreamKey(this.config.streamPrefix, tenant, extension);
  }

  emitEvent(fields: Omit<DebugEvent, 'id' | 'ts' | 'truncated'> & { truncated?: boolean }): DebugEvent {
    const { message, truncated } = cut(fields.message, this.config.maxEventBytes);
    const event: DebugEvent = { ...fields, id: this.nextId++, ts: new Date().toISOString(), message, truncated: truncated || !!fields.truncated };
    this.keep(event);
    this.emitted.inc({ stream: event.stream });
    this.emit('event', event);
    if (this.redis) void this.toRedis(event);
    return event;
  }

  /** Events from the ring, oldest first, optionally for one tenant/extension and after an id. */
  recent(filter: { tenant?: string; extension?: string; after?: number; limit?: number } = {}): DebugEvent[] {
    const events = filter.tenant !== undefined ? (this.ring.get(filter.tenant) ?? []) : [...this.ring.values()].flat().sort((a, b) => a.id - b.id);
    const matching = events.filter(
      (event) =>
        (filter.tenant === undefined || event.tenant === filter.tenant) &&
        (filter.extension === undefined || event.extension === filter.extension) &&
        (filter.after === undefined || event.id > filter.after),
    );
    return filter.limit ? matching.slice(-filter.limit) : matching;
  }

  private keep(event: DebugEvent): void {
    let events = this.ring.get(event.tenant);
    if (!events) this.ring.set(event.tenant, (events = []));
    events.push(event);
    if (++this.ringCount <= this.config.ringSize) return;
    let largest = events;
    for (const candidate of this.ring.values()) if (candidate.length > largest.length) largest = candidate;
    const dropped = largest.shift()!;
    this.ringCount--;
    if (largest.length === 0) this.ring.delete(dropped.tenant);
  }

  private async toRedis(event: DebugEvent): Promise<void> {
    if (this.redisInFlight >= maxRedisWritesInFlight) {
      this.redisErrors.inc();
      return;
    }
    this.redisInFlight++;
    try {
      await this.redis!.xadd(
        this.streamKey(event.tenant, event.extension),
        'MAXLEN',
        '~',
        String(this.config.maxLen),
        '*',
        'ts', event.ts,
        'level', event.level,
        'stream', event.stream,
        'tenant', event.tenant,
        'extension', event.extension,
        'install', event.install,
        'request', event.request,
        'version', event.version,
        'content_hash', event.content_hash,
        'message', event.message,
        'truncated', String(event.truncated),
      );
    } catch {
      this.redisErrors.inc();
    } finally {
      this.redisInFlight--;
    }
  }

  async close(): Promise<void> {
    this.removeAllListeners();
    if (this.redis) this.redis.disconnect();
  }
}

/** Cuts a message to at most `maxBytes` of UTF-8 without splitting a character. */
export function cut(message: string, maxBytes: number): { message: string; truncated: boolean } {
  const bytes = Buffer.from(message);
  if (bytes.length <= maxBytes) return { message, truncated: false };
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return { message: bytes.subarray(0, end).toString(), truncated: true };
}
