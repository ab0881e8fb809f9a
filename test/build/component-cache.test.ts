import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { cachedComponent } from '../../lib/build/component-cache.ts';

const scratch = mkdtempSync(join(tmpdir(), 'alga-component-cache-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function slowProducer(bytes: number[], delayMs = 300) {
  let runs = 0;
  return {
    get runs() {
      return runs;
    },
    produce: async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return new Uint8Array(bytes);
    },
  };
}

describe('component cache by source hash', () => {
  it('runs componentize once for concurrent builds of the same source; the others read its result', async () => {
    const cacheDir = join(scratch, 'concurrent');
    const producer = slowProducer([1, 2, 3]);
    let waits = 0;
    const results = await Promise.all([1, 2, 3].map(() => cachedComponent(cacheDir, 'abc', producer.produce, () => waits++)));
    expect(producer.runs).toBe(1);
    expect(results.filter((result) => !result.cached)).toHaveLength(1);
    expect(waits).toBe(2);
    for (const result of results) expect([...result.component]).toEqual([1, 2, 3]);
    expect(readdirSync(cacheDir)).toEqual(['abc.wasm']);
  });

  it('a failed build leaves no entry and no lock, and the next build runs again', async () => {
    const cacheDir = join(scratch, 'failing');
    await expect(cachedComponent(cacheDir, 'h', async () => Promise.reject(new Error('componentize failed')))).rejects.toThrow('componentize failed');
    expect(readdirSync(cacheDir)).toEqual([]);
    const retry = await cachedComponent(cacheDir, 'h', async () => new Uint8Array([9]));
    expect(retry.cached).toBe(false);
  });

  it('takes over a lock left by a build that died long ago', async () => {
    const cacheDir = join(scratch, 'stale');
    mkdirSync(join(cacheDir, 'h.lock'), { recursive: true });
    const longAgo = new Date(Date.now() - 60 * 60_000);
    utimesSync(join(cacheDir, 'h.lock'), longAgo, longAgo);
    const result = await cachedComponent(cacheDir, 'h', async () => new Uint8Array([7]));
    expect(result).toEqual({ component: new Uint8Array([7]), cached: false });
    expect(existsSync(join(cacheDir, 'h.lock'))).toBe(false);
  });
});
