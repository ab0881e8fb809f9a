import { Redis } from 'ioredis';
import { eventFromStreamEntry, type DebugEventSource } from './debug-event.ts';

export interface RedisSourceOptions {
  redisUrl: string;
  /** `{RUNNER_DEBUG_REDIS_STREAM_PREFIX}:{tenant}:{extension}`. */
  streamKey: string;
  /** Start after this stream id; default `$` (only events from now on). */
  after?: string;
  blockMs?: number;
  onError?: (error: Error) => void;
}

const streamIdPattern = /^\d+(-\d+)?$/;

export function isStreamId(value: string): boolean {
  return streamIdPattern.test(value);
}

/**
 * Events from a Redis stream with `XREAD BLOCK`, on a connection of its own (a blocked
 * connection serves no one else), closed when the session ends.
 */
export function redisDebugSource(options: RedisSourceOptions): DebugEventSource {
  return async function open(signal) {
    const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false, connectTimeout: 2_000 });
    redis.on('error', (error) => options.onError?.(error));
    const stop = () => redis.disconnect();
    signal.addEventListener('abort', stop, { once: true });
    try {
      await redis.connect();
      const start = options.after ?? (await newestId(redis, options.streamKey));
      return read(redis, start, signal, stop);
    } catch (error) {
      signal.removeEventListener('abort', stop);
      redis.disconnect();
      throw error;
    }
  };

  async function* read(redis: Redis, start: string, signal: AbortSignal, stop: () => void) {
    let lastId = start;
    try {
      while (!signal.aborted) {
        const answer = (await redis.xread('COUNT', 100, 'BLOCK', options.blockMs ?? 5_000, 'STREAMS', options.streamKey, lastId)) as
          | Array<[string, Array<[string, string[]]>]>
          | null;
        if (!answer) continue;
        for (const [, entries] of answer) {
          for (const [id, fields] of entries) {
            lastId = id;
            yield eventFromStreamEntry(id, fields);
          }
        }
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    } finally {
      signal.removeEventListener('abort', stop);
      redis.disconnect();
    }
  }
}

/** The id of the stream's newest entry (`0-0` for an empty stream): events after it are new. */
async function newestId(redis: Redis, key: string): Promise<string> {
  const newest = (await redis.xrevrange(key, '+', '-', 'COUNT', 1)) as Array<[string, string[]]>;
  return newest[0]?.[0] ?? '0-0';
}
