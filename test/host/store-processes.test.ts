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

function runWriter(dataDir: string, name: string, count: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writerScript, dataDir, name, String(count)], { stdio: ['ignore', 'ignore', 'pipe'] });
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
});
