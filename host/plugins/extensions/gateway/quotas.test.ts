import { describe, expect, it } from 'vitest';
import { QuotaTracker } from './quotas.ts';

const limits = { requestsPerMinute: 6, maxConcurrency: 100 };

function admitted(tracker: QuotaTracker, key: string, times: number[]): number {
  let count = 0;
  for (const now of times) {
    const decision = tracker.acquire(key, limits, now);
    if (decision.ok) {
      count++;
      decision.release();
    }
  }
  return count;
}

describe('gateway quotas', () => {
  it('admits a minute\'s worth at once, then one call per refill interval', () => {
    const tracker = new QuotaTracker();
    expect(admitted(tracker, 'a', Array.from({ length: 10 }, () => 1_000))).toBe(6);
    const refused = tracker.acquire('a', limits, 1_000);
    expect(refused).toEqual({ ok: false, reason: 'rate', retryAfterSeconds: 10 });
    expect(tracker.acquire('a', limits, 10_999).ok).toBe(false);
    expect(tracker.acquire('a', limits, 11_000).ok).toBe(true);
    expect(tracker.acquire('a', limits, 11_001).ok).toBe(false);
  });

  it('never admits more than the limit plus what refilled, across what a fixed window would call a boundary', () => {
    const tracker = new QuotaTracker();
    const burst = (at: number) => Array.from({ length: 6 }, () => at);
    expect(admitted(tracker, 'a', [...burst(59_900), ...burst(60_100)])).toBe(6);
  });

  it('applies a changed limit at once, keeping what was already spent', () => {
    const tracker = new QuotaTracker();
    expect(admitted(tracker, 'a', Array.from({ length: 6 }, () => 0))).toBe(6);
    expect(admitted(tracker, 'a', Array.from({ length: 20 }, () => 0))).toBe(0);
    const raised = { requestsPerMinute: 10, maxConcurrency: 100 };
    let count = 0;
    for (let i = 0; i < 20; i++) if (tracker.acquire('a', raised, 0).ok) count++;
    expect(count).toBe(4);
    expect(tracker.acquire('a', { requestsPerMinute: 2, maxConcurrency: 100 }, 0).ok).toBe(false);
  });

  it('keeps tenants and extensions apart', () => {
    const tracker = new QuotaTracker();
    expect(admitted(tracker, 'a', Array.from({ length: 7 }, () => 0))).toBe(6);
    expect(admitted(tracker, 'b', Array.from({ length: 7 }, () => 0))).toBe(6);
  });

  it('refuses a call over the concurrency cap until one is released, without spending the rate quota', () => {
    const tracker = new QuotaTracker();
    const one = { requestsPerMinute: 6, maxConcurrency: 1 };
    const first = tracker.acquire('a', one, 0);
    expect(first.ok).toBe(true);
    expect(tracker.acquire('a', one, 0)).toEqual({ ok: false, reason: 'concurrency', retryAfterSeconds: 1 });
    if (first.ok) {
      first.release();
      first.release();
    }
    expect(admitted(tracker, 'a', Array.from({ length: 6 }, () => 0))).toBe(5);
  });

  it('drops idle buckets so the table does not grow with every key ever seen', () => {
    const tracker = new QuotaTracker();
    for (let i = 0; i < 2000; i++) admitted(tracker, `key-${i}`, [0]);
    expect(tracker.size).toBe(2000);
    admitted(tracker, 'late', Array.from({ length: 1024 }, (_, i) => 120_000 + i * 10_000));
    expect(tracker.size).toBeLessThan(10);
  });
});
