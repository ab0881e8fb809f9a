/// <reference path="./generated/extension@0.1.0.d.ts" />
import { get, put, delete as remove, listByPrefix } from 'alga:extension/storage@0.1.0';
import { fromUtf8, jsonBytes, parseJsonBytes, toBytes, type BodyInit } from './bytes.ts';
import { callHost } from './errors.ts';

/** One stored key and its value. */
export interface StorageEntry {
  key: string;
  value: Uint8Array;
}

export interface StoragePage {
  entries: StorageEntry[];
  /** Pass to the next `list` call; undefined on the last page. */
  cursor?: string;
}

export interface ListOptions {
  cursor?: string;
  /** Entries per page (the host caps it); default 100. */
  limit?: number;
}

/**
 * Key-value storage private to this tenant's install (capability `alga.storage`).
 * Failed calls throw HostError subclasses (e.g. HostDeniedError, HostLimitError).
 */
export const storage = {
  get(key: string): Uint8Array | undefined {
    return callHost('storage.get', () => get(key));
  },

  put(key: string, value: BodyInit): void {
    callHost('storage.put', () => put(key, toBytes(value)));
  },

  /** True when the key existed. */
  delete(key: string): boolean {
    return callHost('storage.delete', () => remove(key));
  },

  getText(key: string): string | undefined {
    const value = storage.get(key);
    return value === undefined ? undefined : fromUtf8(value);
  },

  /** The stored JSON value, or `fallback` when the key is absent. */
  getJson<T>(key: string, fallback?: T): T | undefined {
    const value = storage.get(key);
    return value === undefined ? fallback : parseJsonBytes<T>(value);
  },

  putJson(key: string, value: unknown): void {
    storage.put(key, jsonBytes(value));
  },

  /** One page of the keys starting with `prefix`, in key order. */
  list(prefix: string, options: ListOptions = {}): StoragePage {
    const page = callHost('storage.list', () => listByPrefix(prefix, options.cursor, options.limit ?? 100));
    return { entries: page.entries, cursor: page.cursor };
  },

  /** Every entry under `prefix`, fetching pages as it goes. */
  *entries(prefix: string, pageSize = 100): Generator<StorageEntry> {
    let cursor: string | undefined;
    do {
      const page = storage.list(prefix, { cursor, limit: pageSize });
      yield* page.entries;
      cursor = page.cursor;
    } while (cursor !== undefined);
  },
};
