import { Redis } from 'ioredis';

/**
 * A Redis client for fleet state (quotas, login limits, runner heartbeats) that fails fast: no
 * offline queue and a short command timeout, so a call made while Redis is away errors at once
 * instead of waiting; it reconnects in the background. Errors are reported, never thrown at the process.
 */
export function connectFleetRedis(url: string, onError: (error: Error) => void = () => undefined): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1_000,
    connectTimeout: 2_000,
    retryStrategy: (attempt) => Math.min(100 * attempt, 2_000),
  });
  let lastReported = 0;
  redis.on('error', (error: Error) => {
    // One report per 10 s while Redis stays away, not one per reconnect attempt.
    if (Date.now() - lastReported < 10_000) return;
    lastReported = Date.now();
    onError(error);
  });
  return redis;
}

/** Waits until the client is connected, or fails after `timeoutMs`. */
export async function redisReady(redis: Redis, timeoutMs = 3_000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.on('ready', onReady);
  });
}
