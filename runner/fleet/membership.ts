import { startRunnerHeartbeat } from '../../lib/fleet/runner-heartbeat.ts';
import { connectFleetRedis, redisReady } from '../../lib/fleet/redis.ts';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * A runner joining a fleet: its heartbeat in Redis (lib/fleet/runner-heartbeat.ts) tells the host
 * nodes to route calls to `url` until it stops beating (stopped, killed or cut off) and its key expires.
 */
export async function joinRunnerFleet(options: { redisUrl: string; prefix: string; url: string; workers: number; onError(error: Error): void }): Promise<{ leave(): Promise<void> }> {
  let parsed: URL;
  try {
    parsed = new URL(options.url);
  } catch {
    throw new AlgaError('E_RUNNER_CONFIG_INVALID', `RUNNER_ADVERTISE_URL "${options.url}" is not a URL.`);
  }
  const redis = connectFleetRedis(options.redisUrl, options.onError);
  if (!(await redisReady(redis))) {
    redis.disconnect();
    throw new AlgaError('E_REDIS_UNREACHABLE', `${new URL(options.redisUrl).host} did not answer.`);
  }
  const heartbeat = startRunnerHeartbeat(redis, options.prefix, { url: parsed.href.replace(/\/+$/, ''), startedAt: new Date().toISOString(), workers: options.workers }, options.onError);
  return {
    async leave() {
      await heartbeat.stop();
      redis.disconnect();
    },
  };
}
