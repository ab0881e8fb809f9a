import { Packr } from 'msgpackr';
import { fromBufferKey, toBufferKey } from 'ordered-binary';
import { AlgaError, isAlgaError } from '../../../lib/errors/index.ts';
import { connectionFailureReason, databaseSettings, type DatabaseSettings } from '../../../lib/postgres/connection.ts';
import type { HostStore, Migration } from '../store.ts';
import type { Key, StoreDatabase, StoreRangeOptions } from '../store-database.ts';
import { applyMigrations, readSchemaVersion } from '../store-migrations.ts';
import { SqlError, SyncSql } from './sync-bridge.ts';
import type { SqlQuery } from './sync-protocol.ts';

/**
 * The host store's PostgreSQL engine: the same synchronous contract as the LMDB engine, so the
 * code that uses the store does not change. Every sub-database is a `db` of the `alga_kv` table
 * (lib/postgres/schema.ts), keys in LMDB's ordered-binary encoding (ranges sort the same), values msgpack.
 *
 * Transactions are SERIALIZABLE on the one connection of the worker (sync-bridge.ts): a read and a
 * write inside `transaction` behave as one conditional update, so two nodes racing on one claim,
 * one install code or one version each see exactly one winner. A transaction PostgreSQL aborts for
 * a conflicting one is run again from the start (its action must only touch the store), up to
 * `maxAttempts` times, then E_DATABASE_CONFLICT. Writes inside a transaction are sent together
 * with the next read or the commit, so a batch of writes costs one round trip.
 */

const packr = new Packr({ useRecords: false });
const pageSize = 500;
const maxAttempts = 10;
const serializationFailures = new Set(['40001', '40P01']);
/** The session-level advisory lock held while an area migrates, so nodes starting together migrate once. */
const migrationLockKey = 0x616c6d67; // "almg"

class SerializationFailure extends Error {}

interface OpenTransaction {
  begun: boolean;
  /** PostgreSQL aborted it for a concurrent transaction: it must be run again. */
  conflicted: boolean;
  /** Puts not yet sent, by db + key (the last one wins). */
  pending: Map<string, { db: string; key: Uint8Array; value: Uint8Array }>;
}

/** A copy with its own exact-size buffer (ordered-binary and msgpackr return views of shared pools). */
function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.slice();
}

function encodeKey(key: Key): Uint8Array {
  return ownBytes(toBufferKey(key as Parameters<typeof toBufferKey>[0]));
}

function decodeKey(bytes: Uint8Array): Key {
  return fromBufferKey(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as Key;
}

function encodeValue(value: unknown): Uint8Array {
  return ownBytes(packr.pack(value));
}

function decodeValue(bytes: Uint8Array): unknown {
  return packr.unpack(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

export interface PostgresStoreOptions {
  url: string;
  /** Shown in pg_stat_activity (`alga-host`, `alga-host tenant create`, …). */
  applicationName?: string;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  healthIntervalMs?: number;
}

/** A PostgreSQL host store, for fleet modules that keep their own tables in the same database (bundle bytes). */
export interface SqlHostStore extends HostStore {
  /** One statement, inside the open `transaction` if any. Rows as arrays. */
  query(query: SqlQuery): unknown[][];
}

/** The store as a PostgreSQL store, or undefined for the embedded engine. */
export function sqlStoreOf(store: HostStore): SqlHostStore | undefined {
  return store instanceof PostgresStore ? store : undefined;
}

/** Opens the host store in PostgreSQL: connects (E_DATABASE_UNREACHABLE when it cannot) and brings the schema up to date. */
export function openPostgresStore(options: PostgresStoreOptions): HostStore {
  const settings = databaseSettings(options.url, options);
  const store = new PostgresStore(settings, new SyncSql(settings, options.applicationName ?? 'alga-host', options.healthIntervalMs));
  try {
    store.connect();
  } catch (error) {
    void store.close();
    throw error;
  }
  return store;
}

class PostgresStore implements SqlHostStore {
  readonly path: string;
  private transactionState?: OpenTransaction;
  private readonly databases = new Map<string, PostgresDatabase<unknown, Key>>();

  constructor(
    private readonly settings: DatabaseSettings,
    private readonly sql: SyncSql,
  ) {
    this.path = settings.described;
  }

  /** The first statement: the worker connects and brings the schema up to date (lib/postgres/schema.ts) before it answers. */
  connect(): void {
    try {
      this.sql.run([{ text: 'SELECT 1' }]);
    } catch (error) {
      if (error instanceof SqlError && error.failure.catalogCode) throw new AlgaError(error.failure.catalogCode, error.failure.message);
      if (isAlgaError(error)) throw new AlgaError('E_DATABASE_UNREACHABLE', `${this.settings.described}: no answer in time.`, { cause: error });
      const reason = error instanceof SqlError ? connectionFailureReason(error.failure) : (error as Error).message;
      throw new AlgaError('E_DATABASE_UNREACHABLE', `${this.settings.described}: ${reason}.`, { cause: error });
    }
  }

  db<V = unknown, K extends Key = Key>(name: string): StoreDatabase<V, K> {
    let database = this.databases.get(name);
    if (!database) {
      database = new PostgresDatabase(name, this);
      this.databases.set(name, database);
    }
    return database as unknown as StoreDatabase<V, K>;
  }

  transaction<T>(action: () => T): T {
    if (this.transactionState) return action(); // nested: part of the outer transaction
    for (let attempt = 1; ; attempt++) {
      const state: OpenTransaction = { begun: false, conflicted: false, pending: new Map() };
      this.transactionState = state;
      let outcome: { value: T } | { error: unknown };
      try {
        outcome = { value: action() };
        if (!state.conflicted) this.commit(state);
      } catch (error) {
        outcome = { error };
      } finally {
        this.transactionState = undefined;
      }
      const conflicted = state.conflicted || ('error' in outcome && outcome.error instanceof SerializationFailure);
      if (!conflicted && 'value' in outcome) return outcome.value;
      this.rollbackQuietly(state);
      if (!conflicted) throw (outcome as { error: unknown }).error;
      if (attempt >= maxAttempts) throw new AlgaError('E_DATABASE_CONFLICT', `Gave up after ${maxAttempts} attempts.`);
      pause(Math.min(100, 2 ** attempt) * (0.5 + Math.random()));
    }
  }

  schemaVersion(area: string): number {
    return readSchemaVersion(this, area);
  }

  migrate(area: string, migrations: readonly Migration[]): void {
    // Session-level: several transactions run under it, and the version is read again once held.
    this.query({ text: 'SELECT pg_advisory_lock($1)', values: [migrationLockKey] });
    try {
      applyMigrations(this, area, migrations);
    } finally {
      this.query({ text: 'SELECT pg_advisory_unlock($1)', values: [migrationLockKey] });
    }
  }

  async flushed(): Promise<void> {
    // Every write is sent synchronously; nothing waits in memory outside an open transaction.
  }

  async close(): Promise<void> {
    await this.sql.close();
  }

  health(): 'up' | 'down' | 'unknown' {
    return this.sql.health();
  }

  /** Runs one statement: inside an open transaction (flushing its pending writes first), else on its own. */
  query(query: SqlQuery): unknown[][] {
    const state = this.transactionState;
    if (!state) return this.send([query], false).at(-1)!;
    if (state.conflicted) throw new SerializationFailure('the transaction already conflicted');
    return this.sendInTransaction(state, [query]).at(-1)!;
  }

  /** A put: sent with the next statement of the transaction, or at once outside one. */
  put(db: string, key: Uint8Array, value: Uint8Array): void {
    const state = this.transactionState;
    if (!state) {
      this.send([upsert([{ db, key, value }])], false);
      return;
    }
    state.pending.set(`${db}\u0000${Buffer.from(key).toString('hex')}`, { db, key, value });
  }

  private sendInTransaction(state: OpenTransaction, queries: SqlQuery[]): unknown[][][] {
    const batch: SqlQuery[] = [];
    if (!state.begun) batch.push({ text: 'BEGIN ISOLATION LEVEL SERIALIZABLE' });
    if (state.pending.size > 0) batch.push(upsert([...state.pending.values()]));
    const prefix = batch.length;
    batch.push(...queries);
    try {
      const results = this.send(batch, state.begun);
      state.begun = true;
      state.pending.clear();
      return results.slice(prefix);
    } catch (error) {
      // BEGIN ran even when a later statement of the batch failed: the connection is in a (failed) transaction.
      if (!(error instanceof SqlError) || !error.failure.connection) state.begun = true;
      if (error instanceof SerializationFailure) state.conflicted = true;
      throw error;
    }
  }

  private commit(state: OpenTransaction): void {
    if (!state.begun && state.pending.size === 0) return; // touched nothing
    this.sendInTransaction(state, [{ text: 'COMMIT' }]);
  }

  private rollbackQuietly(state: OpenTransaction): void {
    if (!state.begun) return;
    try {
      this.send([{ text: 'ROLLBACK' }], true);
    } catch {
      // The connection is gone, and the transaction with it.
    }
  }

  private send(queries: SqlQuery[], inTransaction: boolean): unknown[][][] {
    try {
      return this.sql.run(queries, inTransaction);
    } catch (error) {
      if (!(error instanceof SqlError)) throw error;
      const { code, connection, message } = error.failure;
      if (code && serializationFailures.has(code)) throw new SerializationFailure(message);
      if (connection) throw new AlgaError('E_DATABASE_UNAVAILABLE', `${this.settings.described}: ${message}.`, { cause: error });
      if (code === '57014' || code === '55P03') throw new AlgaError('E_DATABASE_UNAVAILABLE', `${this.settings.described}: ${message}.`, { cause: error });
      throw new Error(`PostgreSQL refused a store statement (${code ?? 'no code'}): ${message}`, { cause: error });
    }
  }
}

function upsert(rows: { db: string; key: Uint8Array; value: Uint8Array }[]): SqlQuery {
  return {
    name: 'alga-kv-upsert',
    text: 'INSERT INTO alga_kv (db, key, value) SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[]) ON CONFLICT (db, key) DO UPDATE SET value = EXCLUDED.value',
    values: [rows.map((row) => row.db), rows.map((row) => row.key), rows.map((row) => row.value)],
  };
}

/** Blocks this thread for a few milliseconds (a retry's back-off; there is no event loop to yield to inside a transaction). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

class PostgresDatabase<V, K extends Key> implements StoreDatabase<V, K> {
  constructor(
    private readonly name: string,
    private readonly store: PostgresStore,
  ) {}

  get(key: K): V | undefined {
    const rows = this.store.query({ name: 'alga-kv-get', text: 'SELECT value FROM alga_kv WHERE db = $1 AND key = $2', values: [this.name, encodeKey(key)] });
    return rows.length === 0 ? undefined : (decodeValue(rows[0][0] as Uint8Array) as V);
  }

  putSync(key: K, value: V): void {
    this.store.put(this.name, encodeKey(key), encodeValue(value));
  }

  /** Size of the value `getBinaryFast` read last (lmdb-js's shape, which host/core/decoded-reads.ts reads). */
  lastSize = 0;
  /** Decodes what `getBinaryFast` returned into the value `get` would have returned. */
  readonly decoder = { decode: (bytes: Uint8Array): V => decodeValue(bytes) as V };

  /** The stored bytes of a value, undecoded: a read that decodes only when they changed (decoded-reads.ts). */
  getBinaryFast(key: K): Uint8Array | undefined {
    const rows = this.store.query({ name: 'alga-kv-get', text: 'SELECT value FROM alga_kv WHERE db = $1 AND key = $2', values: [this.name, encodeKey(key)] });
    if (rows.length === 0) return undefined;
    const bytes = rows[0][0] as Uint8Array;
    this.lastSize = bytes.byteLength;
    return bytes;
  }

  removeSync(key: K): boolean {
    const rows = this.store.query({ name: 'alga-kv-remove', text: 'DELETE FROM alga_kv WHERE db = $1 AND key = $2 RETURNING 1', values: [this.name, encodeKey(key)] });
    return rows.length > 0;
  }

  *getRange(options: StoreRangeOptions = {}): Iterable<{ key: K; value: V }> {
    for (const row of this.rows(options, true)) yield { key: decodeKey(row[0] as Uint8Array) as K, value: decodeValue(row[1] as Uint8Array) as V };
  }

  *getKeys(options: StoreRangeOptions = {}): Iterable<K> {
    for (const row of this.rows(options, false)) yield decodeKey(row[0] as Uint8Array) as K;
  }

  /** The range page by page (`pageSize` rows a statement), so a loop that stops early reads little. */
  private *rows(options: StoreRangeOptions, withValues: boolean): Generator<unknown[]> {
    const reverse = options.reverse === true;
    let remaining = options.limit ?? Infinity;
    let offset = options.offset ?? 0;
    // Lower and upper bounds, each inclusive or not, in key order.
    let after: { key: Uint8Array; inclusive: boolean } | undefined;
    let before: { key: Uint8Array; inclusive: boolean } | undefined;
    if (options.start !== undefined) {
      const bound = { key: encodeKey(options.start), inclusive: !options.exclusiveStart };
      if (reverse) before = bound;
      else after = bound;
    }
    if (options.end !== undefined) {
      const bound = { key: encodeKey(options.end), inclusive: options.inclusiveEnd === true };
      if (reverse) after = bound;
      else before = bound;
    }
    while (remaining > 0) {
      const values: unknown[] = [this.name];
      const where = ['db = $1'];
      if (after) {
        values.push(after.key);
        where.push(`key ${after.inclusive ? '>=' : '>'} $${values.length}`);
      }
      if (before) {
        values.push(before.key);
        where.push(`key ${before.inclusive ? '<=' : '<'} $${values.length}`);
      }
      const take = Math.min(pageSize, remaining);
      values.push(take, offset);
      const text = `SELECT key${withValues ? ', value' : ''} FROM alga_kv WHERE ${where.join(' AND ')} ORDER BY key ${reverse ? 'DESC' : 'ASC'} LIMIT $${values.length - 1} OFFSET $${values.length}`;
      const rows = this.store.query({ text, values });
      for (const row of rows) yield row;
      if (rows.length < take) return;
      remaining -= rows.length;
      offset = 0;
      const last = rows.at(-1)![0] as Uint8Array;
      if (reverse) before = { key: last, inclusive: false };
      else after = { key: last, inclusive: false };
    }
  }
}
