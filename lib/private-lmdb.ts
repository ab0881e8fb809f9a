import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Key, type RootDatabase, type RootDatabaseOptions } from 'lmdb';
import { ensureRoom } from './storage-faults.ts';

const ownerOnlyFile = 0o600;
const ownerOnlyFolder = 0o700;
const lmdbFiles = ['data.mdb', 'lock.mdb'];

/**
 * The address space each environment maps up front (64 GiB; only virtual, the file grows as data
 * does). lmdb-js otherwise starts at 128 KB and remaps whenever the data outgrows the map — also
 * in a process that only reads, when another process has grown the file, and while its other
 * transactions are open. The host store and the runner's storage are written by several
 * processes at once (operator commands, the warm spare runner), and that remapping is where a
 * worker crashed natively with no message (issues stops, session 3). With room mapped from the
 * start, no process remaps until a store passes 64 GiB.
 */
export const defaultMapSize = 64 * 1024 ** 3;

/**
 * Opens an LMDB environment (a folder holding data.mdb and lock.mdb) readable by its owner only:
 * a new folder is 0700 and new files 0600 (lmdb-js's `permissionsMode`, missing from its types),
 * and files an earlier version created group- or world-readable are narrowed to 0600. The map is
 * `defaultMapSize` unless `options.mapSize` says otherwise. Every write (a put or remove outside a
 * transaction, or a whole transaction) first checks that the disk has its reserve left, and throws
 * E_STORAGE_FULL instead of letting LMDB meet a full disk (lib/storage-faults.ts says why).
 */
export function openPrivateLmdb<V = any, K extends Key = Key>(options: RootDatabaseOptions & { path: string }): RootDatabase<V, K> {
  mkdirSync(options.path, { recursive: true, mode: ownerOnlyFolder });
  const withMode: RootDatabaseOptions & { path: string; permissionsMode: number } = { mapSize: defaultMapSize, ...options, permissionsMode: ownerOnlyFile };
  const root = open<V, K>(withMode);
  for (const file of lmdbFiles) narrowToOwner(join(options.path, file));
  guardWrites(root, options.path);
  return root;
}

const writeMethods = ['putSync', 'removeSync', 'put', 'remove', 'clearSync', 'clearAsync', 'dropSync', 'drop', 'ifNoExists', 'ifVersion', 'batch', 'transaction', 'transactionSync'];
/** Write methods taking a callback whose writes belong to the same transaction. */
const transactionMethods = new Set(['ifNoExists', 'ifVersion', 'batch', 'transaction', 'transactionSync']);

/** Gives the root and every database it opens writes that check for room first (once per transaction). */
function guardWrites(root: RootDatabase<any, any>, path: string): void {
  let depth = 0;
  /** A transaction's callback (which lmdb-js may run later, inside the write transaction): its writes were checked with it. */
  const withinTransaction = (callback: (...inner: unknown[]) => unknown) =>
    function (this: unknown, ...inner: unknown[]) {
      depth++;
      try {
        return callback.apply(this, inner);
      } finally {
        depth--;
      }
    };
  const checked = (database: object) => {
    const target = database as Record<string, unknown>;
    for (const name of writeMethods) {
      const original = target[name];
      if (typeof original !== 'function') continue;
      const transactional = transactionMethods.has(name);
      target[name] = function (this: unknown, ...args: unknown[]) {
        if (depth === 0) ensureRoom(path);
        return original.apply(this, transactional ? args.map((arg) => (typeof arg === 'function' ? withinTransaction(arg as (...inner: unknown[]) => unknown) : arg)) : args);
      };
    }
    return database;
  };
  const openDB = root.openDB;
  (root as unknown as { openDB: unknown }).openDB = function (this: unknown, ...args: unknown[]) {
    return checked((openDB as (...args: unknown[]) => object).apply(this, args));
  };
  checked(root);
}

function narrowToOwner(path: string): void {
  const mode = statSync(path, { throwIfNoEntry: false })?.mode;
  if (mode !== undefined && (mode & 0o077) !== 0) chmodSync(path, ownerOnlyFile);
}
