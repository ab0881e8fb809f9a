import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisQuotas } from './redis-quotas.ts';

/** Real Redis at 127.0.0.1:6379 (shared: every key under a prefix of this run, removed afterwards). */
const prefix = `test-quotas-${process.pid}-${randomBytes(3).toString('hex')}`;
const clients: Redis[] = [];

function node(leaseTtlMs = 60_000): RedisQuotas {
  const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1, enableOfflineQueue: true });
  clients.push(redis);
  return new RedisQuotas({ redis, prefix, leaseTtlMs });
}

afterAll(async () => {
  const keys = await clients[0].keys(`${prefix}:*`);
  if (keys.length > 0) await clients[0].del(...keys);
  for (const client of clients) client.disconnect();
});

describe('gateway quotas in Redis (a fleet)', () => {
  it('holds one tenant\'s rate limit across two nodes: together they admit the limit, not twice it', async () => {
    const nodeA = node();
    const nodeB = node();
    const limits = { requestsPerMinute: 10, maxConcurrency: 100 };
    const decisions = await Promise.all(Array.from({ length: 30 }, (_, index) => (index % 2 ? nodeA : nodeB).acquire('acme\u0000com.example.hello', limits)));
    const admitted = decisions.filter((decision) => decision.ok);
    expect(admitted).toHaveLength(10);
    for (const decision of decisions) if (decision.ok) decision.release();
    const refused = decisions.find((decision) => !decision.ok);
    expect(refused).toMatchObject({ ok: false, reason: 'rate' });
    expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    // Another tenant's bucket is its own.
    expect((await nodeA.acquire('other\u0000com.example.hello', limits)).ok).toBe(true);
  });

  it('counts concurrent calls across nodes, and frees a slot when a call ends', async () => {
    const nodeA = node();
    const nodeB = node();
    const limits = { requestsPerMinute: 1000, maxConcurrency: 2 };
    const first = await nodeA.acquire('acme\u0000concurrent', limits);
    const second = await nodeB.acquire('acme\u0000concurrent', limits);
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(await nodeA.acquire('acme\u0000concurrent', limits)).toMatchObject({ ok: false, reason: 'concurrency' });
    if (second.ok) second.release();
    // The release is sent without waiting; the next acquire sees it once Redis has it.
    let third = await nodeA.acquire('acme\u0000concurrent', limits);
    for (let attempt = 0; !third.ok && attempt < 20; attempt++) third = await nodeA.acquire('acme\u0000concurrent', limits);
    expect(third.ok).toBe(true);
  });

  it('expires the leases of a node that died mid-call', async () => {
    const dying = node(400);
    const survivor = node(400);
    const limits = { requestsPerMinute: 1000, maxConcurrency: 1 };
    expect((await dying.acquire('acme\u0000lease', limits)).ok).toBe(true); // never released: the node "died"
    expect(await survivor.acquire('acme\u0000lease', limits)).toMatchObject({ ok: false, reason: 'concurrency' });
    let decision = await survivor.acquire('acme\u0000lease', limits);
    for (const deadline = Date.now() + 10_000; !decision.ok && Date.now() < deadline; decision = await survivor.acquire('acme\u0000lease', limits)) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(decision.ok).toBe(true);
  });

  it('applies a changed limit at once', async () => {
    const quotas = node();
    const key = 'acme\u0000changed';
    for (let index = 0; index < 5; index++) expect((await quotas.acquire(key, { requestsPerMinute: 5, maxConcurrency: 100 })).ok).toBe(true);
    expect((await quotas.acquire(key, { requestsPerMinute: 5, maxConcurrency: 100 })).ok).toBe(false);
    // Raised to 8: three more now (what was spent stays spent).
    const raised = await Promise.all(Array.from({ length: 5 }, () => quotas.acquire(key, { requestsPerMinute: 8, maxConcurrency: 100 })));
    expect(raised.filter((decision) => decision.ok)).toHaveLength(3);
  });

  it('refuses with reason "unavailable" when Redis does not answer, never admitting unchecked', async () => {
    const redis = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    redis.on('error', () => undefined);
    const quotas = new RedisQuotas({ redis, prefix, leaseTtlMs: 1000 });
    expect(await quotas.acquire('acme\u0000down', { requestsPerMinute: 10, maxConcurrency: 10 })).toEqual({ ok: false, reason: 'unavailable', retryAfterSeconds: 1 });
    redis.disconnect();
  });
});
