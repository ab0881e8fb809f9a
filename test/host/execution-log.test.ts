import { afterEach, describe, expect, it } from 'vitest';
import { ExecutionLog } from '../../host/plugins/extensions/gateway/execution-log.ts';
import { openStore } from '../../host/core/store.ts';
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
