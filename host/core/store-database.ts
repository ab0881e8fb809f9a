import type { Key } from 'lmdb';

/**
 * What one named sub-database of the host store offers, whichever engine keeps it (LMDB embedded,
 * PostgreSQL for a fleet). Everything is synchronous; inside `store.transaction` it is atomic.
 * Keys are LMDB keys (strings, numbers, arrays of them) and sort the same way in both engines.
 */

export type { Key };

export interface StoreRangeOptions {
  /** First key (inclusive); with `reverse`, the highest key (inclusive). */
  start?: Key;
  /** Where the range stops (exclusive unless `inclusiveEnd`); with `reverse`, the lowest key. */
  end?: Key;
  inclusiveEnd?: boolean;
  exclusiveStart?: boolean;
  reverse?: boolean;
  limit?: number;
  offset?: number;
}

export interface StoreDatabase<V = unknown, K extends Key = Key> {
  get(key: K): V | undefined;
  /** Writes at once (visible to the next read); inside a transaction, commits with it. */
  putSync(key: K, value: V): void;
  /** True when the key existed. */
  removeSync(key: K): boolean;
  getRange(options?: StoreRangeOptions): Iterable<{ key: K; value: V }>;
  getKeys(options?: StoreRangeOptions): Iterable<K>;
}
