import type { Redis } from 'ioredis';

/**
 * Runner heartbeats in Redis, the one definition shared by the runner (writes) and the host
 * (reads). A runner sets `{prefix}:runner:{url}` with a TTL every `intervalMs` and lists its URL
 * in the set `{prefix}:runners`; a runner that stops (killed, hung, partitioned) drops out when
 * its key expires. A graceful stop removes both at once.
 */

export const heartbeatIntervalMs = 1_000;
/** A runner that misses this long of heartbeats is no longer a member. */
export const heartbeatTtlMs = 3_000;

export interface RunnerHeartbeat {
  url: string;
  /** When the runner started (ISO), so a restarted runner on the same URL is visible. */
  startedAt: string;
  workers?: number;
}

const memberKey = (prefix: string, url: string) => `${prefix}:runner:${url}`;
const setKey = (prefix: string) => `${prefix}:runners`;

export async function writeRunnerHeartbeat(redis: Redis, prefix: string, heartbeat: RunnerHeartbeat, ttlMs = heartbeatTtlMs): Promise<void> {
  await redis.multi().set(memberKey(prefix, heartbeat.url), JSON.stringify(heartbeat), 'PX', ttlMs).sadd(setKey(prefix), heartbeat.url).exec();
}

export async function removeRunnerHeartbeat(redis: Redis, prefix: string, url: string): Promise<void> {
  await redis.multi().del(memberKey(prefix, url)).srem(setKey(prefix), url).exec();
}

/** The runners whose heartbeat is current, by URL. Forgets the ones whose key expired. */
export async function readRunnerHeartbeats(redis: Redis, prefix: string): Promise<Map<string, RunnerHeartbeat>> {
  const urls = await redis.smembers(setKey(prefix));
  const alive = new Map<string, RunnerHeartbeat>();
  if (urls.length === 0) return alive;
  const values = await redis.mget(urls.map((url) => memberKey(prefix, url)));
  const expired: string[] = [];
  urls.forEach((url, index) => {
    const value = values[index];
    if (value === null) {
      expired.push(url);
      return;
    }
    try {
      alive.set(url, JSON.parse(value) as RunnerHeartbeat);
    } catch {
      expired.push(url);
    }
  });
  if (expired.length > 0) await redis.srem(setKey(prefix), ...expired);
  return alive;
}

/** Keeps a runner's heartbeat alive until `stop` (which removes it). Redis errors are reported and retried on the next beat. */
export function startRunnerHeartbeat(redis: Redis, prefix: string, heartbeat: RunnerHeartbeat, onError: (error: Error) => void = () => undefined): { stop(): Promise<void> } {
  const beat = () => writeRunnerHeartbeat(redis, prefix, heartbeat).catch(onError);
  void beat();
  const timer = setInterval(() => void beat(), heartbeatIntervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await removeRunnerHeartbeat(redis, prefix, heartbeat.url).catch(() => undefined);
    },
  };
}
