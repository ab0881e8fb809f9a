import { createRequire } from 'node:module';
import type { FastifyRateLimitOptions, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import { AlgaError } from '../../lib/errors/index.ts';

type Counted = { current: number; ttl: number };
type Callback = (error: Error | null, result: Counted | null) => void;
interface LimitStore {
  incr(key: string, callback: Callback, timeWindow: number, max: number): void;
  read?(key: string, callback: Callback, timeWindow: number, max: number): void;
  child(routeOptions: unknown): LimitStore;
}
type RedisStoreClass = new (continueExceeding: boolean, exponentialBackoff: boolean, redis: Redis, key: string) => LimitStore;

const RedisStore = createRequire(import.meta.url)('@fastify/rate-limit/store/RedisStore') as RedisStoreClass;

/**
 * `@fastify/rate-limit`'s Redis store, with Redis failures turned into E_RATE_LIMIT_UNAVAILABLE
 * (503): a limit that cannot be counted refuses the request (sign-in stays throttled while
 * Redis is away) with a sentence that says why, instead of the client's error falling through as
 * an internal error.
 */
function unavailableWhenRedisFails(inner: LimitStore): LimitStore {
  const guard = (callback: Callback): Callback => (error, result) =>
    callback(error ? new AlgaError('E_RATE_LIMIT_UNAVAILABLE', undefined, { cause: error }) : null, result);
  return {
    incr: (key, callback, timeWindow, max) => inner.incr(key, guard(callback), timeWindow, max),
    ...(inner.read ? { read: (key: string, callback: Callback, timeWindow: number, max: number) => inner.read!(key, guard(callback), timeWindow, max) } : {}),
    child: (routeOptions) => unavailableWhenRedisFails(inner.child(routeOptions)),
  };
}

/** The `store` option of `@fastify/rate-limit` for a fleet node: counts in Redis under `prefix`. */
export function fleetRateLimitStore(redis: Redis, prefix: string): FastifyRateLimitStoreCtor {
  return class FleetRateLimitStore {
    constructor(options: FastifyRateLimitOptions) {
      // The plugin hands its resolved settings, which include these two (its types do not say so).
      const settings = options as { continueExceeding?: boolean; exponentialBackoff?: boolean };
      const inner = new RedisStore(settings.continueExceeding === true, settings.exponentialBackoff === true, redis, prefix);
      return unavailableWhenRedisFails(inner) as FleetRateLimitStore;
    }
  } as unknown as FastifyRateLimitStoreCtor;
}
