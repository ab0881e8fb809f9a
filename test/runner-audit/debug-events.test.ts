// Audit of issue 3 (the runner): debug events to Redis Streams, against the real Redis at
// 127.0.0.1:6379 and a fake one that stops answering. "AUDIT GAP: …" tests fail on purpose.
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { DebugEvents, cut } from '../../runner/debug/events.ts';
import { startSilenceableRedis } from './silent-redis.ts';

const event = (tenant: string, extension: string, message: string) => ({
  level: 'info' as const,
  stream: 'log' as const,
  tenant,
  extension,
  install: 'install-1',
  request: 'req-1',
  version: '1.0.0',
  content_hash: `sha256:${'b'.repeat(64)}`,
  message,
});

const errorsOf = async (registry: Registry) => Number(/runner_debug_redis_errors_total (\d+)/.exec(await registry.getSingleMetricAsString('runner_debug_redis_errors_total'))?.[1] ?? 0);

describe('runner audit: debug events', () => {
  const prefix = `test-audit-debug-${process.pid}-${Date.now()}`;
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('trims the stream with MAXLEN ~ n', async () => {
    const events = new DebugEvents({ redisUrl: 'redis://127.0.0.1:6379', streamPrefix: prefix, maxLen: 10, maxEventBytes: 100, ringSize: 50 }, new Registry());
    try {
      for (let attempt = 0; attempt < 50 && (await redis.ping()) !== 'PONG'; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the runner's own connection
      for (let index = 0; index < 600; index++) events.emitEvent(event('tenant-trim', 'ext-trim', `event ${index}`));
      let length = 0;
      for (let attempt = 0; attempt < 50; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const last = await redis.xrevrange(`${prefix}:tenant-trim:ext-trim`, '+', '-', 'COUNT', 1);
        length = await redis.xlen(`${prefix}:tenant-trim:ext-trim`);
        if (last[0]?.[1].includes('event 599')) break;
      }
      expect(length).toBeGreaterThan(0);
      // "~" trims whole radix-tree nodes (100 entries by default), never keeps all 600
      expect(length).toBeLessThanOrEqual(200);
      expect(events.recent().length).toBe(50);
    } finally {
      await events.close();
    }
  });

  it('cuts messages at the byte limit without splitting a character', () => {
    const { message, truncated } = cut('é'.repeat(10), 5);
    expect(truncated).toBe(true);
    expect(message).toBe('éé');
  });

  it('AUDIT GAP: never maps two different tenant/extension pairs to the same Redis stream', async () => {
    const events = new DebugEvents({ streamPrefix: 'ext-debug', maxLen: 10, maxEventBytes: 100, ringSize: 10 }, new Registry());
    try {
      // Both ids pass the execute request's identifier check ([A-Za-z0-9._:@-]+).
      expect(events.streamKey('acme:eu', 'crm')).not.toBe(events.streamKey('acme', 'eu:crm'));
    } finally {
      await events.close();
    }
  });

  it('AUDIT GAP: gives up on (and counts) writes to a Redis that was ready and then stopped answering', async () => {
    const fake = await startSilenceableRedis();
    const registry = new Registry();
    const events = new DebugEvents({ redisUrl: fake.url, streamPrefix: prefix, maxLen: 10, maxEventBytes: 100, ringSize: 10 }, registry);
    try {
      for (let attempt = 0; attempt < 100 && (events as unknown as { redis: Redis }).redis.status !== 'ready'; attempt++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((events as unknown as { redis: Redis }).redis.status).toBe('ready');
      fake.silence();
      for (let index = 0; index < 100; index++) events.emitEvent(event('tenant-hung', 'ext-hung', `event ${index}`));
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      // Without a command timeout every write stays pending in memory for as long as the connection lives.
      expect(await errorsOf(registry)).toBeGreaterThan(0);
    } finally {
      await events.close();
      fake.close();
    }
  }, 20_000);
});
