import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { executeBody, startFixture, type RunnerFixture } from './support.ts';

describe('runner: debug events in Redis Streams', () => {
  const prefix = `test-ext-debug-${process.pid}-${Date.now()}`;
  const redis = new Redis('redis://127.0.0.1:6379', { lazyConnect: true, maxRetriesPerRequest: 1 });
  let fixture: RunnerFixture;
  let hash: string;

  beforeAll(async () => {
    await redis.connect();
    fixture = await startFixture({ debug: { redisUrl: 'redis://127.0.0.1:6379', streamPrefix: prefix, maxLen: 100, maxEventBytes: 64 } });
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(async () => {
    await fixture?.close();
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('appends stdout, stderr and log events to ext-debug:{tenant}:{extension} with every field', async () => {
    await fixture.execute(executeBody({ hash, path: '/stdout', tenant: 'tenant-redis', requestId: 'req-redis-1' }));
    const longMessage = 'x'.repeat(200);
    await fixture.execute(executeBody({ hash, path: '/log', query: `message=${longMessage}`, providers: ['alga.log'], tenant: 'tenant-redis', requestId: 'req-redis-2' }));
    const key = `${prefix}:tenant-redis:ext-test`;
    let entries: [string, string[]][] = [];
    for (let attempt = 0; attempt < 50 && entries.length < 4; attempt++) {
      entries = await redis.xrange(key, '-', '+');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const events = entries.map(([, fields]) => Object.fromEntries(fields.reduce<[string, string][]>((pairs, value, index) => (index % 2 ? pairs : [...pairs, [value, fields[index + 1]]]), [])));
    const stdout = events.find((event) => event.stream === 'stdout' && event.message.includes('hello on stdout'));
    expect(stdout).toMatchObject({ level: 'info', tenant: 'tenant-redis', extension: 'ext-test', install: 'install-tenant-redis', request: 'req-redis-1', version: '1.0.0', content_hash: hash, truncated: 'false' });
    expect(Object.keys(stdout!).sort()).toEqual(['content_hash', 'extension', 'install', 'level', 'message', 'request', 'stream', 'tenant', 'truncated', 'ts', 'version'].sort());
    expect(events.some((event) => event.stream === 'stderr' && event.message.includes('hello on stderr'))).toBe(true);
    const log = events.find((event) => event.stream === 'log' && event.request === 'req-redis-2');
    expect(log?.truncated).toBe('true');
    expect(Buffer.byteLength(log!.message)).toBeLessThanOrEqual(64);
  });

  it('keeps executing when Redis is unreachable', async () => {
    const offline = await startFixture({ debug: { redisUrl: 'redis://127.0.0.1:1', streamPrefix: prefix } });
    try {
      const offlineHash = offline.publish(guestDir('misbehave'));
      for (let index = 0; index < 3; index++) {
        const { status } = await offline.execute(executeBody({ hash: offlineHash, path: '/stdout' }));
        expect(status).toBe(200);
      }
      expect(offline.runner.events.recent().some((event) => event.message.includes('hello on stdout'))).toBe(true);
      const metrics = await (await fetch(`${offline.url}/metrics`)).text();
      expect(metrics).toMatch(/runner_debug_redis_errors_total [1-9]/);
    } finally {
      await offline.close();
    }
  });
});
