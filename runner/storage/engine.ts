/**
 * The storage engine behind `alga.storage`: where the bytes live (LMDB in the embedded runner;
 * PostgreSQL for a fleet). An engine only stores and reads; the meaning of every operation
 * (namespaces, key rules, quotas, versions, conditions, increment, batch) is defined once in
 * key-value-store.ts and reaches the engine as a `decide` function run inside its transaction.
 *
 * Methods may answer synchronously or with a promise: host calls are served on the runner's
 * main thread, which may wait for the engine while the guest's worker blocks.
 */

import { HostError } from '../capabilities/factor.ts';

export type Awaitable<T> = T | Promise<T>;

/** What an update from a retired install is refused with (see StorageEngine.purge). */
export const retiredInstallRefusal = (): HostError =>
  new HostError('denied', 'This install was removed and its storage deleted while the request ran; nothing was written.');

/**
 * How long a retired install is remembered: far past any execution's deadline, so no request it
 * admitted is still running when the record goes. Older records go at the namespace's next purge.
 */
export const retiredInstallMemoryMs = 24 * 60 * 60 * 1000;

/** One extension's storage for one tenant. Engines keep namespaces disjoint. */
export interface Namespace {
  tenantId: string;
  extensionId: string;
  /**
   * The install acting on the namespace, when a guest's execution does: an update from an install
   * that a purge retired is refused, in the update's own transaction (see `purge`).
   */
  installId?: string;
}

export interface StoredValue {
  value: Uint8Array;
  /** The version of the write that stored the value; 0 for a value written before versions existed. */
  version: number;
}

/** What a namespace holds, kept by the engine and changed only through `update`. */
export interface NamespaceState {
  keys: number;
  /** Key bytes (UTF-8) plus value bytes. */
  bytes: number;
  /** The version given to the namespace's latest write; the next write gets a higher one. */
  lastVersion: number;
}

export type Write = { key: string; value: Uint8Array; version: number } | { key: string; remove: true };

/** Takes the commit of an update that answered before its commit finished (see StorageEngine.update). */
export type CommitSink = (commit: Promise<void>) => void;

/** What `decide` asks the engine to commit: nothing when `writes` is empty. */
export interface Decision<T> {
  result: T;
  writes: Write[];
  state: NamespaceState;
}

export interface StorageEngine {
  /** The key's value and version, or undefined. */
  read(namespace: Namespace, key: string): Awaitable<StoredValue | undefined>;
  /** Up to `limit` entries whose key starts with `prefix` and sorts after `after`, in key order. */
  list(namespace: Namespace, prefix: string, after: string | undefined, limit: number): Awaitable<Array<{ key: string; value: Uint8Array }>>;
  /**
   * One atomic read-modify-write: reads `keys` and the namespace's state, calls `decide`
   * (synchronous; it may throw, and then nothing is written), and commits its writes and state
   * in the same transaction. Updates of one namespace are serialised, so `decide` always sees
   * the state every earlier update left. Resolves once the commit is visible to every reader —
   * or, when `committing` is given and the engine can, as soon as `decide` has run: the commit
   * (resolving once it is visible, rejecting if the writes did not land) is then handed to
   * `committing` before the update resolves, and the caller waits for it before it reads its own
   * writes or relies on them.
   */
  update<T>(namespace: Namespace, keys: readonly string[], decide: (current: ReadonlyMap<string, StoredValue>, state: NamespaceState) => Decision<T>, committing?: CommitSink): Awaitable<T>;
  /**
   * Deletes every key of the namespace and resets its counts in one transaction, keeping its last
   * version (no version is handed out twice in a namespace); the number of keys removed. With
   * `retireInstall` (an install that was removed), that transaction also records the install as
   * retired, so a request it admitted before can write nothing after the purge.
   */
  purge(namespace: Namespace, retireInstall?: string): Awaitable<number>;
  /**
   * Resolves once every update that resolved before the call is durable (on disk). An engine
   * whose updates are durable when they resolve leaves it out. The runner answers a request
   * that wrote only after this, so an update is visible at once and durable before any answer
   * that depends on it.
   */
  durable?(): Promise<void>;
  /**
   * Set when a guest worker may open the same data itself to serve reads without a round trip
   * to the main thread (runner/storage/worker-reads.ts): the LMDB folder.
   */
  readonly workerReadPath?: string;
  close(): Awaitable<void>;
}
