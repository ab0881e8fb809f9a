import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createAuditLog } from '../../host/core/audit.ts';
import { coreMigrations } from '../../host/core/core-migrations.ts';
import { openStore } from '../../host/core/store.ts';
import { tempDir } from './temp-dir.ts';

const writerScript = fileURLToPath(new URL('./store-writer.ts', import.meta.url));
const writerCount = 8;
const entriesPerWriter = 5;

function runWriter(dataDir: string, name: string, count: number, padBytes = 0): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dataDir, name, String(count), String(padBytes)], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('host store written by several processes at once', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps every write of the host and of operator processes writing alongside it', async () => {
    const store = openStore(dir.path);
    store.migrate('core', coreMigrations);
    const audit = createAuditLog(store);
    const writers = Array.from({ length: writerCount }, (_, index) => runWriter(dir.path, `cli${index}`, entriesPerWriter));
    let writersDone = false;
    const results = Promise.all(writers).finally(() => (writersDone = true));
    const hostTargets: string[] = [];
    while (!writersDone) {
      const target = `tenant:host-${hostTargets.length}`;
      audit.record({ action: 'tenant.created', target });
      hostTargets.push(target);
      if (hostTargets.length % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    for (const result of await results) expect(result, result.stderr).toMatchObject({ code: 0 });
    const stored = [...store.db<{ target: string }>('core.audit').getRange({})].map(({ value }) => value.target);
    const expected = [...hostTargets, ...Array.from({ length: writerCount }, (_, writer) => Array.from({ length: entriesPerWriter }, (_, index) => `tenant:cli${writer}-${index}`)).flat()];
    expect(stored.length).toBe(expected.length);
    expect(new Set(stored)).toEqual(new Set(expected));
    await store.close();
  }, 120_000);

  it('never remaps the store in a process while other processes grow it (the map is large from the start)', async () => {
    const grown = tempDir();
    const store = openStore(grown.path);
    try {
      store.migrate('core', coreMigrations);
      const audit = store.db<{ target: string }>('core.audit');
      const mapSize = () => (audit as unknown as { getStats(): { mapSize: number } }).getStats().mapSize;
      const before = mapSize();
      // Four writers add ~2.4 MB, far past the 128 KB map lmdb-js would otherwise start with.
      const writers = Array.from({ length: 4 }, (_, index) => runWriter(grown.path, `big${index}`, 150, 4000));
      let done = false;
      const results = Promise.all(writers).finally(() => (done = true));
      let seen = 0;
      while (!done) {
        seen = [...audit.getRange({})].length; // reads in this process while the file grows underneath
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      for (const result of await results) expect(result, result.stderr).toMatchObject({ code: 0 });
      expect([...audit.getRange({})]).toHaveLength(600);
      expect(seen).toBeLessThanOrEqual(600);
      expect(mapSize()).toBe(before);
    } finally {
      await store.close();
      grown.remove();
    }
  }, 120_000);
});
