/**
 * Per tenant+extension request quotas: a token bucket for requests per minute (a full minute's
 * worth may arrive at once, then calls are admitted as the bucket refills at limit/60 per second)
 * and a cap on concurrent calls. Unlike a fixed clock-aligned window, a bucket never admits
 * twice the limit around a window boundary.
 */

export type QuotaDecision = { ok: true; release(): void } | { ok: false; retryAfterSeconds: number; reason: 'rate' | 'concurrency' };

/** One admitted call: gives its concurrency slot back once. */
class QuotaLease {
  readonly ok = true;
  private released = false;

  constructor(private readonly bucket: Bucket) {}

  release(): void {
    if (this.released) return;
    this.released = true;
    this.bucket.inFlight--;
  }
}

export interface QuotaLimits {
  requestsPerMinute: number;
  maxConcurrency: number;
}

interface Bucket {
  capacity: number;
  tokens: number;
  refilledAt: number;
  inFlight: number;
}

const minuteMs = 60_000;
/** Idle buckets that have refilled completely carry no state worth keeping. */
const pruneEvery = 1024;

export class QuotaTracker {
  private readonly buckets = new Map<string, Bucket>();
  private acquiresSincePrune = 0;

  acquire(key: string, limits: QuotaLimits, now = Date.now()): QuotaDecision {
    const capacity = limits.requestsPerMinute;
    const perMs = capacity / minuteMs;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = { capacity, tokens: capacity, refilledAt: now, inFlight: 0 };
      this.buckets.set(key, bucket);
    }
    if (bucket.capacity !== capacity) {
      // A changed limit takes effect at once: what was spent stays spent, the headroom moves.
      bucket.tokens = Math.max(0, bucket.tokens + capacity - bucket.capacity);
      bucket.capacity = capacity;
    }
    bucket.tokens = Math.min(capacity, bucket.tokens + Math.max(0, now - bucket.refilledAt) * perMs);
    bucket.refilledAt = Math.max(bucket.refilledAt, now);
    if (++this.acquiresSincePrune >= pruneEvery) this.prune(now, key);

    if (bucket.tokens < 1) {
      return { ok: false, reason: 'rate', retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
    }
    if (bucket.inFlight >= limits.maxConcurrency) return { ok: false, reason: 'concurrency', retryAfterSeconds: 1 };
    bucket.tokens -= 1;
    bucket.inFlight++;
    return new QuotaLease(bucket);
  }

  /** How many buckets are held; idle, full ones are dropped as calls come in. */
  get size(): number {
    return this.buckets.size;
  }

  private prune(now: number, keep: string): void {
    this.acquiresSincePrune = 0;
    for (const [key, bucket] of this.buckets) {
      // A bucket idle for a minute has refilled to any capacity; dropping it loses nothing.
      if (key !== keep && bucket.inFlight === 0 && now - bucket.refilledAt >= minuteMs) this.buckets.delete(key);
    }
  }
}
