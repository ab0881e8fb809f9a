import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Key, type RootDatabase, type RootDatabaseOptions } from 'lmdb';

const ownerOnlyFile = 0o600;
const ownerOnlyFolder = 0o700;
const lmdbFiles = ['data.mdb', 'lock.mdb'];

/**
 * Opens an LMDB environment (a folder holding data.mdb and lock.mdb) readable by its owner only:
 * a new folder is 0700 and new files 0600 (lmdb-js's `permissionsMode`, missing from its types),
 * and files an earlier version created group- or world-readable are narrowed to 0600.
 */
export function openPrivateLmdb<V = any, K extends Key = Key>(options: RootDatabaseOptions & { path: string }): RootDatabase<V, K> {
  mkdirSync(options.path, { recursive: true, mode: ownerOnlyFolder });
  const withMode: RootDatabaseOptions & { path: string; permissionsMode: number } = { ...options, permissionsMode: ownerOnlyFile };
  const root = open<V, K>(withMode);
  for (const file of lmdbFiles) narrowToOwner(join(options.path, file));
  return root;
}

function narrowToOwner(path: string): void {
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(path, ownerOnlyFile);
}
