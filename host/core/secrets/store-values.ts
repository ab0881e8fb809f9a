import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { open } from 'lmdb';
import type { HostStore } from '../store.ts';

/**
 * Every record in the host store, whatever area wrote it: rotation must reach every encrypted
 * value without each plugin registering where it keeps them.
 */

/** Names of the store's sub-databases (LMDB keeps them as keys of its unnamed root database). */
export function listStoreDatabases(dataDir: string): string[] {
  const path = join(dataDir, 'store');
  if (!existsSync(path)) return [];
  const root = open({ path, maxDbs: 128, compression: false, encoding: 'binary', readOnly: true });
  try {
    return [...root.getKeys({})].filter((key): key is string => typeof key === 'string');
  } finally {
    root.close();
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Other live processes with the store open (LMDB's reader table names them): a running host. */
export function otherProcessesUsingStore(dataDir: string): number[] {
  const path = join(dataDir, 'store');
  if (!existsSync(path)) return [];
  const root = open({ path, maxDbs: 128, compression: false, encoding: 'binary', readOnly: true });
  try {
    const pids = new Set<number>();
    for (const line of String(root.readerList()).split('\n').slice(1)) {
      const pid = Number(line.trim().split(/\s+/)[0]);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) pids.add(pid);
    }
    return [...pids];
  } finally {
    root.close();
  }
}

export interface StoredRecord {
  database: string;
  key: unknown;
  value: unknown;
}

export function* storeRecords(store: HostStore, databases: string[]): Generator<StoredRecord> {
  for (const database of databases) {
    for (const { key, value } of store.db(database).getRange({})) yield { database, key, value };
  }
}
