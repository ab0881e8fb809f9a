import { afterEach, describe, expect, it } from 'vitest';
import { ExecutionLog } from '../../host/plugins/extensions/gateway/execution-log.ts';
import { openStore } from '../../host/core/store.ts';
import { extensionsMigrations } from '../../host/plugins/extensions/migrations.ts';
import { tempDir } from './temp-dir.ts';

describe('execution log', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('lists calls made within the same millisecond newest first, in the order they were made', () => {
    const dir = tempDir();
    const store = openStore(dir.path);
    const log = new ExecutionLog(store);
    cleanups.push(dir.remove, () => store.close(), () => log.close());
    const at = new Date().toISOString();
    const ids = Array.from({ length: 20 }, (_, index) => `${String.fromCharCode(122 - index)}-request`);
    for (const requestId of ids) {
      log.record({ requestId, at, tenantId: 't', extensionId: 'com.example.hello', method: 'GET', path: '/hello', status: 200, durationMs: 1 });
    }
    expect(log.list('t', 'com.example.hello', { limit: 100 }).map((row) => row.requestId)).toEqual([...ids].reverse());
    expect(log.list('t', 'com.example.hello', { limit: 100, before: at })).toEqual([]);
  });
});

describe('execution log caps', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function openLog(limits: ConstructorParameters<typeof ExecutionLog>[1]) {
    const dir = tempDir();
    const store = openStore(dir.path);
    store.migrate('extensions', extensionsMigrations);
    const log = new ExecutionLog(store, limits);
    cleanups.push(dir.remove, () => store.close(), () => log.close());
    return { store, log };
  }

  const row = (index: number, at = new Date().toISOString(), tenantId = 't') => ({ requestId: `r${String(index).padStart(5, '0')}`, at, tenantId, extensionId: 'com.example.hello', method: 'GET', path: '/hello', status: 200, durationMs: 1 });

  it('keeps at most maxRows rows, removing the oldest first across tenants', () => {
    const { log } = openLog({ limits: { maxRows: 100 } });
    for (let i = 0; i < 300; i++) log.record(row(i, undefined, i % 2 === 0 ? 'a' : 'b'));
    log.flush();
    const kept = [...log.list('a', 'com.example.hello', { limit: 1000 }), ...log.list('b', 'com.example.hello', { limit: 1000 })].map((r) => r.requestId).sort();
    expect(log.storedStats().rows).toBe(kept.length);
    expect(kept.length).toBeLessThanOrEqual(100);
    expect(kept.length).toBeGreaterThanOrEqual(90);
    expect(kept.at(-1)).toBe('r00299'); // the newest stay
    expect(kept[0] >= `r${String(300 - kept.length).padStart(5, '0')}`).toBe(true);
  });

  it('keeps its pages under maxBytes however many rows come, and the usage sums stay whole', () => {
    const maxBytes = 256 * 1024;
    const { log } = openLog({ limits: { maxBytes } });
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 1000; i++) log.record(row(round * 1000 + i));
      log.flush();
      expect(log.storedStats().bytes).toBeLessThanOrEqual(maxBytes + 16 * 4096); // one flush's pages of slack at most
    }
    expect(log.storedStats().rows).toBeGreaterThan(100);
    expect(log.usage('t', 'com.example.hello', 1).reduce((sum, day) => sum + day.requests, 0)).toBe(10_000);
  });

  it('removes rows older than the retention period on the next write', () => {
    const { log } = openLog({ limits: { retentionMs: 60_000 } });
    const old = new Date(Date.now() - 120_000).toISOString();
    for (let i = 0; i < 10; i++) log.record(row(i, old));
    log.record(row(10));
    log.flush();
    expect(log.list('t', 'com.example.hello').map((r) => r.requestId)).toEqual(['r00010']);
  });

  it('indexes the rows an earlier version wrote, so the caps reach them', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const first = openStore(dir.path);
    first.migrate('extensions', extensionsMigrations.slice(0, 1));
    first.transaction(() => {
      for (let i = 0; i < 50; i++) first.db('ext.executions').putSync(['t', 'com.example.hello', Date.now() - 1000 + i, `old${i}`], row(i));
    });
    await first.close();
    const store = openStore(dir.path);
    cleanups.push(() => store.close());
    store.migrate('extensions', extensionsMigrations);
    const log = new ExecutionLog(store, { limits: { maxRows: 20 } });
    cleanups.push(() => log.close());
    log.record(row(99));
    log.flush();
    expect(log.storedStats().rows).toBeLessThanOrEqual(20);
    expect(log.list('t', 'com.example.hello', { limit: 1 })[0].requestId).toBe('r00099');
  });
});
