import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { QuotaDecision, QuotaLimits, Quotas } from './quotas.ts';

/**
 * The gateway's quotas for a fleet, in Redis, so a tenant's limits hold across every host node:
 * the same token bucket as the in-process tracker (quotas.ts: a minute's worth at once, then
 * refilled at limit/60 per second, a changed limit applied at once) and a cap on concurrent calls
 * kept as leases. One Lua script decides and takes atomically, on Redis's clock.
 *
 * A lease is a member of a sorted set scored by its expiry: released when the call ends, and
 * expired `leaseTtlMs` after it was taken when the node that took it died mid-call, so a dead
 * node's calls stop counting against the tenant by then. Redis not answering (1 s) is a refusal
 * with reason `unavailable` (E_QUOTA_UNAVAILABLE, 503): limits are never silently skipped.
 */

const acquireScript = `
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000 + math.floor(tonumber(now_parts[2]) / 1000)
local capacity = tonumber(ARGV[1])
local max_concurrency = tonumber(ARGV[2])
local lease_ttl = tonumber(ARGV[4])
if capacity <= 0 then return {0, 60, 1} end
local per_ms = capacity / 60000
local bucket = redis.call('HMGET', KEYS[1], 'tokens', 'capacity', 'refilled')
local tokens = tonumber(bucket[1])
local previous = tonumber(bucket[2])
local refilled = tonumber(bucket[3])
if tokens == nil or previous == nil or refilled == nil then
  tokens = capacity
  previous = capacity
  refilled = now
end
if previous ~= capacity then tokens = math.max(0, tokens + capacity - previous) end
tokens = math.min(capacity, tokens + math.max(0, now - refilled) * per_ms)
refilled = math.max(refilled, now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local result
if tokens < 1 then
  result = {0, math.max(1, math.ceil((1 - tokens) / per_ms / 1000)), 1}
elseif redis.call('ZCARD', KEYS[2]) >= max_concurrency then
  result = {0, 1, 2}
else
  tokens = tokens - 1
  redis.call('ZADD', KEYS[2], now + lease_ttl, ARGV[3])
  redis.call('PEXPIRE', KEYS[2], lease_ttl + 1000)
  result = {1, 0, 0}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'capacity', tostring(capacity), 'refilled', tostring(refilled))
redis.call('PEXPIRE', KEYS[1], 120000)
return result
`;

const refusalReasons = { 1: 'rate', 2: 'concurrency' } as const;

type ScriptRedis = Redis & { algaQuotaAcquire(bucketKey: string, leasesKey: string, capacity: number, maxConcurrency: number, leaseId: string, leaseTtlMs: number): Promise<[number, number, number]> };

export interface RedisQuotasOptions {
  redis: Redis;
  /** The fleet's Redis key prefix. */
  prefix: string;
  /** How long a lease outlives a node that died holding it: longer than any call may take. */
  leaseTtlMs: number;
}

export class RedisQuotas implements Quotas {
  private readonly redis: ScriptRedis;

  constructor(private readonly options: RedisQuotasOptions) {
    if (!('algaQuotaAcquire' in options.redis)) options.redis.defineCommand('algaQuotaAcquire', { numberOfKeys: 2, lua: acquireScript });
    this.redis = options.redis as ScriptRedis;
  }

  async acquire(key: string, limits: QuotaLimits): Promise<QuotaDecision> {
    // One hash slot for both keys of a quota (Redis Cluster), named by the encoded tenant + extension.
    const slot = `${this.options.prefix}:quota:{${encodeURIComponent(key)}}`;
    const leasesKey = `${slot}:leases`;
    const leaseId = randomUUID();
    let answer: [number, number, number];
    try {
      answer = await this.redis.algaQuotaAcquire(`${slot}:bucket`, leasesKey, limits.requestsPerMinute, limits.maxConcurrency, leaseId, this.options.leaseTtlMs);
    } catch {
      return { ok: false, reason: 'unavailable', retryAfterSeconds: 1 };
    }
    const [admitted, retryAfterSeconds, reason] = answer;
    if (admitted !== 1) return { ok: false, reason: refusalReasons[reason as 1 | 2] ?? 'rate', retryAfterSeconds };
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        // Not answered (Redis away): the lease expires by itself.
        this.redis.zrem(leasesKey, leaseId).catch(() => undefined);
      },
    };
  }
}
