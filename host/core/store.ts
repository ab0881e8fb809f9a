import { join } from 'node:path';
import type { Database, Key, RootDatabase } from 'lmdb';
import { openPrivateLmdb } from '../../lib/private-lmdb.ts';
import { storageErrorOf } from '../../lib/storage-faults.ts';
import type { StoreDatabase } from './store-database.ts';
import { applyMigrations, readSchemaVersion } from './store-migrations.ts';

/**
 * The host store: one LMDB environment under `<data>/store` (files 0600), split into named sub-databases.
 * Each area (core, every plugin) keeps a schema version and forward migrations of its own.
 * Multi-step changes go through `transaction`, which runs synchronously and atomically.
 * The same contract has a PostgreSQL engine for a fleet (host/core/postgres/postgres-store.ts).
 */

export type { Database, Key, StoreDatabase };

export interface Migration {
  /** The schema version this migration brings the area to (1, 2, …, in order). */
  version: number;
  description: string;
  up(store: HostStore): void;
}

export interface HostStore {
  /** A named sub-database (msgpack values). Name it `<area>.<what>`, e.g. `setup.state`. */
  db<V = unknown, K extends Key = Key>(name: string): StoreDatabase<V, K>;
  /**
   * Runs `action` in one synchronous write transaction; every put/remove inside commits together or
   * not at all. A commit the disk refuses throws E_STORAGE_FULL (507) or E_STORAGE_FAILED (500).
   */
  transaction<T>(action: () => T): T;
  /** Brings `area` to the newest migration's version, each step in its own transaction. */
  migrate(area: string, migrations: readonly Migration[]): void;
  schemaVersion(area: string): number;
  /** Resolves when every pending asynchronous write is on disk. */
  flushed(): Promise<void>;
  close(): Promise<void>;
  /** Where the state lives: the LMDB folder, or `host:port/database` of PostgreSQL (no password). */
  readonly path: string;
  /** Whether the engine's database answers, for /readyz (absent for the embedded engine, which cannot be away). */
  health?(): 'up' | 'down' | 'unknown';
}

/** Where the embedded store of a data folder lives. */
export function storePathOf(dataDir: string): string {
  return join(dataDir, 'store');
}

export function openStore(dataDir: string): HostStore {
  const path = storePathOf(dataDir);
  // Operator commands (`alga-host tenant|user|token create`, `setup`) write this store while the
  // host runs. With lmdb-js's overlappingSync (its default here) concurrent writers from several
  // processes lost a committed write or failed with MDB_BAD_TXN (test/host/store-processes.test.ts).
  const root: RootDatabase = openPrivateLmdb({ path, maxDbs: 128, compression: false, overlappingSync: false });
  const databases = new Map<string, Database<any, any>>();
  // A sub-database first opened inside a transaction that aborts does not exist afterwards: forget its handle.
  let openedInTransaction: string[] | undefined;

  const store: HostStore = {
    path,
    db<V, K extends Key>(name: string): Database<V, K> {
      let database = databases.get(name);
      if (!database) {
        database = root.openDB<V, K>({ name, encoding: 'msgpack' });
        databases.set(name, database);
        openedInTransaction?.push(name);
      }
      return database as Database<V, K>;
    },
    transaction<T>(action: () => T): T {
      if (openedInTransaction) return action(); // nested: part of the outer transaction
      openedInTransaction = [];
      try {
        return root.transactionSync(action);
      } catch (error) {
        for (const name of openedInTransaction) databases.delete(name);
        throw storageErrorOf(error, path) ?? error;
      } finally {
        openedInTransaction = undefined;
      }
    },
    schemaVersion(area: string): number {
      return readSchemaVersion(store, area);
    },
    migrate(area: string, migrations: readonly Migration[]): void {
      applyMigrations(store, area, migrations);
    },
    async flushed() {
      await root.flushed;
    },
    async close() {
      await root.flushed;
      await root.close();
    },
  };
  return store;
}
