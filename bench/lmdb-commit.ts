// What one durable LMDB write costs on this machine, apart from the runner: the floor under a
// guest's `alga.storage` put (issue 11, "Storage calls"). A small value is written in a
// transaction of its own, the ways the runner could commit it:
//   - synchronously (`transactionSync`, the commit and its flush on the calling thread);
//   - asynchronously one at a time (lmdb-js's `transaction`, each awaited before the next: the
//     runner's case when one or two requests write at once);
//   - a plain asynchronous put, one at a time (no callback deciding it inside the transaction);
//   - asynchronously, many queued at once (lmdb-js batches them into one commit and one flush);
// each on the runner's options (flushed to disk before `flushed` resolves) and with `noSync`
// (no flush: not something the runner may do, shown only to split the flush from the rest).
// CPU is this process's, all threads (lmdb-js commits on libuv's thread pool).
// Run: node --import tsx bench/lmdb-commit.ts   (BENCH_WRITES, default 2000)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RootDatabase } from 'lmdb';
import { openPrivateLmdb } from '../lib/private-lmdb.ts';

const writes = Number(process.env.BENCH_WRITES ?? 2000);

function processCpuMicros(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function measure(label: string, root: RootDatabase, count: number, write: (index: number) => Promise<unknown> | void): Promise<void> {
  const cpuBefore = processCpuMicros();
  const started = performance.now();
  await write(count);
  await root.flushed;
  const wallMicros = (performance.now() - started) * 1000;
  console.log(`  ${label.padEnd(48)} ${(((processCpuMicros() - cpuBefore) / count)).toFixed(0).padStart(5)} µs CPU, ${(wallMicros / count).toFixed(0).padStart(5)} µs wall per write`);
}

for (const [name, options] of [['the runner\'s options (flushed)', {}], ['noSync (no flush; for comparison only)', { noSync: true }]] as const) {
  const path = mkdtempSync(join(tmpdir(), 'alga-bench-lmdb-'));
  // As runner/storage/lmdb-engine.ts opens its environment.
  const root = openPrivateLmdb({ path, compression: false, separateFlushed: true, ...options });
  const values = root.openDB<Buffer, string>({ name: 'values', encoding: 'binary' });
  const keyOf = (index: number) => `key ${index % 10}`;
  const valueOf = (index: number) => Buffer.from(`value ${index}`);
  const put = (index: number) => values.putSync(keyOf(index), valueOf(index));
  console.log(`${name}:`);
  for (let round = 0; round < 2; round++) {
    await measure('synchronous transaction', root, writes, (count) => {
      for (let index = 0; index < count; index++) root.transactionSync(() => put(index));
    });
    await measure('asynchronous, one at a time', root, writes / 2, async (count) => {
      for (let index = 0; index < count; index++) await root.transaction(() => put(index));
    });
    await measure('asynchronous put, no callback, one at a time', root, writes / 2, async (count) => {
      for (let index = 0; index < count; index++) await values.put(keyOf(index), valueOf(index));
    });
    await measure('asynchronous, all queued at once', root, writes * 5, async (count) => {
      await Promise.all(Array.from({ length: count }, (_, index) => root.transaction(() => put(index))));
    });
  }
  await root.close();
  rmSync(path, { recursive: true, force: true });
}
