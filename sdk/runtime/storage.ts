/// <reference path="./generated/extension@0.1.0.d.ts" />
import { get, put, delete as remove, listByPrefix, getVersioned, increment, batch } from 'alga:extension/storage@0.1.0';
import type * as Wit from 'alga:extension/storage@0.1.0';
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

/** A value with the version of the write that stored it (pass the version to `putIf`, `deleteIf`, `batch`). */
export interface Versioned<T = Uint8Array> {
  value: T;
  version: number;
}

/**
 * What a conditional write expects of its key: `{ version }` from a `getWithVersion`,
 * `{ absent: true }` (the key does not exist), or `{ value }` (it holds exactly these bytes).
 */
export type Expectation = { version: number } | { absent: true } | { value: BodyInit };

/** A conditional write either happened or found the key changed (nothing was written). */
export type ConditionalResult<T> = ({ ok: true } & T) | { ok: false; conflict: StorageConflict };

export interface StorageConflict {
  /** The operation's position in its batch (0 for `putIf` / `deleteIf`). */
  index: number;
  key: string;
  /** The key's version when the write was tried; undefined when the key did not exist. */
  currentVersion?: number;
}

/** One step of `storage.batch`. Steps run in order; each sees the writes of the steps before it. */
export type BatchOperation =
  | { op: 'put'; key: string; value: BodyInit; expect?: Expectation }
  | { op: 'putJson'; key: string; value: unknown; expect?: Expectation }
  | { op: 'delete'; key: string; expect?: Expectation }
  | { op: 'increment'; key: string; by?: number | bigint }
  /** Writes nothing: the batch commits only if the key is as expected. */
  | { op: 'check'; key: string; expect: Expectation };

export type BatchStepResult = { op: 'put'; version: number } | { op: 'delete'; existed: boolean } | { op: 'increment'; value: number } | { op: 'check' };

/** Read and written through a `storage.transaction` callback. */
export interface StorageTransaction {
  get(key: string): Uint8Array | undefined;
  getText(key: string): string | undefined;
  getJson<T>(key: string, fallback?: T): T | undefined;
  put(key: string, value: BodyInit): void;
  putJson(key: string, value: unknown): void;
  delete(key: string): void;
}

export interface TransactionOptions {
  /** How many times the callback may run before `StorageConflictError` (default 10). */
  attempts?: number;
}

/** `storage.transaction` gave up: other requests kept changing the keys it read. */
export class StorageConflictError extends Error {
  readonly conflict: StorageConflict;

  constructor(conflict: StorageConflict, attempts: number) {
    super(`storage.transaction: "${conflict.key}" changed during each of ${attempts} attempts.`);
    this.name = 'StorageConflictError';
    this.conflict = conflict;
  }
}

/** Most steps one batch (or one transaction's reads and writes together) may hold. */
export const maxBatchOperations = 100;

function versionOf(version: bigint): number {
  return Number(version);
}

function counterOf(key: string, value: bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`storage: the counter "${key}" (${value}) is beyond what a JavaScript number holds exactly.`);
  return number;
}

function toStep(by: number | bigint | undefined): bigint {
  if (by === undefined) return 1n;
  if (typeof by === 'bigint') return by;
  if (!Number.isSafeInteger(by)) throw new RangeError(`storage.increment: ${by} is not a whole number.`);
  return BigInt(by);
}

function toWitExpectation(expect: Expectation | undefined): Wit.Expectation | undefined {
  if (expect === undefined) return undefined;
  if ('version' in expect) {
    if (!Number.isSafeInteger(expect.version) || expect.version < 0) throw new RangeError(`storage: ${expect.version} is not a version from a read.`);
    return { tag: 'version', val: BigInt(expect.version) };
  }
  if ('absent' in expect) return { tag: 'absent' };
  return { tag: 'value', val: toBytes(expect.value) };
}

function toWitOperation(operation: BatchOperation): Wit.Operation {
  switch (operation.op) {
    case 'put':
      return { tag: 'put', val: { key: operation.key, value: toBytes(operation.value), expect: toWitExpectation(operation.expect) } };
    case 'putJson':
      return { tag: 'put', val: { key: operation.key, value: jsonBytes(operation.value), expect: toWitExpectation(operation.expect) } };
    case 'delete':
      return { tag: 'delete', val: { key: operation.key, expect: toWitExpectation(operation.expect) } };
    case 'increment':
      return { tag: 'increment', val: { key: operation.key, by: toStep(operation.by) } };
    case 'check':
      return { tag: 'check', val: { key: operation.key, expect: toWitExpectation(operation.expect)! } };
  }
}

function fromWitResult(result: Wit.OperationResult, key: string): BatchStepResult {
  switch (result.tag) {
    case 'put':
      return { op: 'put', version: versionOf(result.val) };
    case 'delete':
      return { op: 'delete', existed: result.val };
    case 'increment':
      return { op: 'increment', value: counterOf(key, result.val) };
    case 'check':
      return { op: 'check' };
  }
}

/**
 * Key-value storage private to this tenant's install (capability `alga.storage`).
 * Failed calls throw HostError subclasses (e.g. HostDeniedError, HostLimitError).
 *
 * Requests of one tenant run at the same time, so never read a value, change it and `put` it
 * back: one of two concurrent requests would lose its update. Use `increment` for counters,
 * `putIf` with the version from `getWithVersion`, `batch`, or `transaction`.
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

  /** The value and its version, or undefined when the key does not exist. */
  getWithVersion(key: string): Versioned | undefined {
    const stored = callHost('storage.getWithVersion', () => getVersioned(key));
    return stored && { value: stored.value, version: versionOf(stored.version) };
  },

  /** The JSON value and its version, or undefined when the key does not exist. */
  getJsonWithVersion<T>(key: string): Versioned<T> | undefined {
    const stored = storage.getWithVersion(key);
    return stored && { value: parseJsonBytes<T>(stored.value), version: stored.version };
  },

  /** Writes only when the key is as expected; `{ok: true, version}` or `{ok: false, conflict}`. */
  putIf(key: string, value: BodyInit, expect: Expectation): ConditionalResult<{ version: number }> {
    const outcome = storage.batch([{ op: 'put', key, value, expect }]);
    return outcome.ok ? { ok: true, version: (outcome.results[0] as { version: number }).version } : outcome;
  },

  putJsonIf(key: string, value: unknown, expect: Expectation): ConditionalResult<{ version: number }> {
    return storage.putIf(key, jsonBytes(value), expect);
  },

  /** Deletes only when the key is as expected. */
  deleteIf(key: string, expect: Expectation): ConditionalResult<{ existed: boolean }> {
    const outcome = storage.batch([{ op: 'delete', key, expect }]);
    return outcome.ok ? { ok: true, existed: (outcome.results[0] as { existed: boolean }).existed } : outcome;
  },

  /**
   * Adds `by` (default 1, may be negative) to the integer stored at `key` and returns the sum,
   * in one atomic step: concurrent increments never lose one. The value is the integer's
   * decimal text, so `getJson(key)` reads it as a number; an absent key counts as 0.
   */
  increment(key: string, by: number | bigint = 1): number {
    const step = toStep(by);
    // componentize-js guests trap when a negative s64 is passed as a plain parameter; inside
    // a record (a batch step) it crosses fine.
    if (step < 0n) {
      const outcome = storage.batch([{ op: 'increment', key, by: step }]);
      if (!outcome.ok) throw new StorageConflictError(outcome.conflict, 1); // cannot happen: the step expects nothing
      return (outcome.results[0] as { value: number }).value;
    }
    return counterOf(key, callHost('storage.increment', () => increment(key, step)));
  },

  /**
   * Runs the steps in order as one atomic write: all of them land, or — when a step's `expect`
   * does not hold — none does and the first such step is reported. At most 100 steps.
   */
  batch(operations: BatchOperation[]): ConditionalResult<{ results: BatchStepResult[] }> {
    const witOperations = operations.map(toWitOperation);
    const outcome = callHost('storage.batch', () => batch(witOperations));
    if (outcome.tag === 'conflict') {
      const { index, key, currentVersion } = outcome.val;
      return { ok: false, conflict: { index, key, currentVersion: currentVersion === undefined ? undefined : versionOf(currentVersion) } };
    }
    return { ok: true, results: outcome.val.map((result, index) => fromWitResult(result, operations[index].key)) };
  },

  /**
   * An optimistic transaction: `run` reads and writes through `tx`; its writes are committed in
   * one batch that also checks every key it read is unchanged. When another request changed one
   * of them meanwhile, `run` is called again (so keep it free of other side effects), up to
   * `attempts` times, then `StorageConflictError`. Reads and writes together: at most 100 keys.
   */
  transaction<T>(run: (tx: StorageTransaction) => T, options: TransactionOptions = {}): T {
    const attempts = Math.max(1, options.attempts ?? 10);
    let lastConflict: StorageConflict | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const reads = new Map<string, number | undefined>();
      const writes = new Map<string, Uint8Array | undefined>();
      const read = (key: string): Uint8Array | undefined => {
        if (writes.has(key)) return writes.get(key);
        const stored = storage.getWithVersion(key);
        if (!reads.has(key)) reads.set(key, stored?.version);
        return stored?.value;
      };
      const tx: StorageTransaction = {
        get: read,
        getText: (key) => {
          const value = read(key);
          return value === undefined ? undefined : fromUtf8(value);
        },
        getJson: <V>(key: string, fallback?: V) => {
          const value = read(key);
          return value === undefined ? fallback : parseJsonBytes<V>(value);
        },
        put: (key, value) => void writes.set(key, toBytes(value)),
        putJson: (key, value) => void writes.set(key, jsonBytes(value)),
        delete: (key) => void writes.set(key, undefined),
      };
      const result = run(tx);
      const steps: BatchOperation[] = [...reads].map(([key, version]) => ({ op: 'check', key, expect: version === undefined ? { absent: true } : { version } }));
      for (const [key, value] of writes) steps.push(value === undefined ? { op: 'delete', key } : { op: 'put', key, value });
      if (writes.size === 0 && reads.size <= 1) return result; // one read is consistent by itself
      const outcome = storage.batch(steps);
      if (outcome.ok) return result;
      lastConflict = outcome.conflict;
    }
    throw new StorageConflictError(lastConflict!, attempts);
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
