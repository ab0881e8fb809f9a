import { HostError } from '../capabilities/factor.ts';
import type { Awaitable, CommitSink, Decision, Namespace, NamespaceState, StorageEngine, StoredValue, Write } from './engine.ts';

/**
 * What `alga.storage` means, defined once for every engine: key rules, quotas, versions,
 * conditions, counters and atomic batches. The engine (engine.ts) only reads and commits.
 */

export interface StorageLimits {
  maxKeys: number;
  maxBytes: number;
  maxValueBytes: number;
}

export type Expectation = { kind: 'absent' } | { kind: 'version'; version: number } | { kind: 'value'; value: Uint8Array };

export type Operation =
  | { kind: 'put'; key: string; value: Uint8Array; expect?: Expectation }
  | { kind: 'delete'; key: string; expect?: Expectation }
  | { kind: 'increment'; key: string; by: bigint }
  | { kind: 'check'; key: string; expect: Expectation };

export type OperationResult = { kind: 'put'; version: number } | { kind: 'delete'; existed: boolean } | { kind: 'increment'; value: bigint } | { kind: 'check' };

export interface Conflict {
  index: number;
  key: string;
  /** Undefined when the key did not exist. */
  currentVersion?: number;
}

export type BatchOutcome = { committed: OperationResult[] } | { conflict: Conflict };

export interface ListPage {
  entries: Array<{ key: string; value: Uint8Array }>;
  cursor?: string;
}

export const maxKeyBytes = 512;
export const maxPageSize = 1000;
export const maxBatchOperations = 100;
/** The values of one batch together (puts and the counters' text). */
export const maxBatchValueBytes = 8 * 1048576;
const separator = '\u0000';
const s64Min = -(2n ** 63n);
const s64Max = 2n ** 63n - 1n;
const integerText = /^-?[0-9]{1,20}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function checkKey(key: unknown, what = 'A storage key'): string {
  if (typeof key !== 'string' || key.length === 0) throw new HostError('invalid', `${what} must be a non-empty string.`);
  // A UTF-16 unit is at most 3 UTF-8 bytes: only long keys need counting.
  if (key.length * 3 > maxKeyBytes && Buffer.byteLength(key) > maxKeyBytes) throw new HostError('invalid', `${what} must be at most ${maxKeyBytes} bytes.`);
  if (key.includes(separator)) throw new HostError('invalid', `${what} must not contain NUL.`);
  return key;
}

const validId = (id: unknown): boolean => typeof id === 'string' && id.length > 0 && !id.includes(separator);

export function checkNamespace(namespace: Namespace): Namespace {
  if (!validId(namespace.tenantId)) throw new HostError('invalid', 'The tenant id must be a non-empty string without NUL.');
  if (!validId(namespace.extensionId)) throw new HostError('invalid', 'The extension id must be a non-empty string without NUL.');
  return namespace;
}

function checkValue(value: unknown, limits: StorageLimits): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new HostError('invalid', 'A storage value must be bytes.');
  if (value.length > limits.maxValueBytes) throw new HostError('limit', `A value may be at most ${limits.maxValueBytes} bytes.`);
  return value;
}

function checkVersion(version: unknown): number {
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) throw new HostError('invalid', 'A version must be a whole number from a previous read.');
  return version;
}

function checkExpectation(expect: Expectation, limits: StorageLimits): Expectation {
  switch (expect?.kind) {
    case 'absent':
      return expect;
    case 'version':
      return { kind: 'version', version: checkVersion(expect.version) };
    case 'value':
      return { kind: 'value', value: checkValue(expect.value, limits) };
    default:
      throw new HostError('invalid', 'An expectation must be absent, a version or a value.');
  }
}

function checkCounterStep(by: unknown): bigint {
  if (typeof by !== 'bigint' || by < s64Min || by > s64Max) throw new HostError('invalid', 'An increment must be a 64-bit signed integer.');
  return by;
}

/** Validates a batch before any transaction starts; returns it with clean values. */
export function checkOperations(operations: unknown, limits: StorageLimits): Operation[] {
  if (!Array.isArray(operations)) throw new HostError('invalid', 'A batch must be a list of operations.');
  if (operations.length > maxBatchOperations) throw new HostError('limit', `A batch may hold at most ${maxBatchOperations} operations.`);
  let valueBytes = 0;
  const checked = operations.map((operation: Operation): Operation => {
    const key = checkKey(operation?.key);
    const expect = operation.kind !== 'increment' && operation.expect !== undefined ? checkExpectation(operation.expect, limits) : undefined;
    switch (operation.kind) {
      case 'put': {
        const value = checkValue(operation.value, limits);
        valueBytes += value.length;
        return { kind: 'put', key, value, expect };
      }
      case 'delete':
        return { kind: 'delete', key, expect };
      case 'increment':
        valueBytes += 20;
        return { kind: 'increment', key, by: checkCounterStep(operation.by) };
      case 'check':
        if (!expect) throw new HostError('invalid', 'A check needs an expectation.');
        return { kind: 'check', key, expect };
      default:
        throw new HostError('invalid', 'An operation must be put, delete, increment or check.');
    }
  });
  if (valueBytes > maxBatchValueBytes) throw new HostError('limit', `The values of one batch may be at most ${maxBatchValueBytes} bytes together.`);
  return checked;
}

function holds(expect: Expectation, current: StoredValue | undefined): boolean {
  switch (expect.kind) {
    case 'absent':
      return current === undefined;
    case 'version':
      return current !== undefined && current.version === expect.version;
    case 'value':
      return current !== undefined && Buffer.compare(current.value, expect.value) === 0;
  }
}

function counterValue(key: string, current: StoredValue | undefined): bigint {
  if (current === undefined) return 0n;
  const text = decoder.decode(current.value).trim();
  if (!integerText.test(text)) throw new HostError('invalid', `The value of "${key}" is not an integer, so it cannot be incremented.`);
  return BigInt(text);
}

/**
 * The pure part of a batch: runs the steps in order over the keys' current values and the
 * namespace's state, and returns what to commit (nothing on a conflict). Throws a HostError
 * (nothing is written) when a quota or a counter's range would be exceeded.
 */
export function decideBatch(operations: readonly Operation[], limits: StorageLimits, current: ReadonlyMap<string, StoredValue>, state: NamespaceState): Decision<BatchOutcome> {
  const working = new Map<string, StoredValue | undefined>(current);
  const version = state.lastVersion + 1;
  let { keys, bytes } = state;
  const results: OperationResult[] = [];
  const set = (key: string, value: Uint8Array | undefined): void => {
    const before = working.get(key);
    const keyBytes = Buffer.byteLength(key);
    if (before) {
      keys -= 1;
      bytes -= keyBytes + before.value.length;
    }
    if (value) {
      keys += 1;
      bytes += keyBytes + value.length;
    }
    working.set(key, value && { value, version });
  };

  for (const [index, operation] of operations.entries()) {
    const before = working.get(operation.key);
    if (operation.kind !== 'increment' && operation.expect && !holds(operation.expect, before)) {
      return { result: { conflict: { index, key: operation.key, currentVersion: before?.version } }, writes: [], state };
    }
    switch (operation.kind) {
      case 'put':
        set(operation.key, operation.value);
        results.push({ kind: 'put', version });
        break;
      case 'delete':
        if (before) set(operation.key, undefined);
        results.push({ kind: 'delete', existed: before !== undefined });
        break;
      case 'increment': {
        const sum = counterValue(operation.key, before) + operation.by;
        if (sum < s64Min || sum > s64Max) throw new HostError('invalid', `The counter "${operation.key}" would leave the 64-bit signed range.`);
        set(operation.key, encoder.encode(sum.toString()));
        results.push({ kind: 'increment', value: sum });
        break;
      }
      case 'check':
        results.push({ kind: 'check' });
        break;
    }
  }

  // A namespace already over a lowered quota may still shrink; it may not grow.
  if (keys > limits.maxKeys && keys > state.keys) throw new HostError('limit', `This install may keep at most ${limits.maxKeys} keys.`);
  if (bytes > limits.maxBytes && bytes > state.bytes) throw new HostError('limit', `This install may keep at most ${limits.maxBytes} bytes.`);

  const writes: Write[] = [];
  for (const [key, value] of working) {
    const before = current.get(key);
    if (value === before) continue; // untouched
    if (value) writes.push({ key, value: value.value, version });
    else if (before) writes.push({ key, remove: true });
  }
  return { result: { committed: results }, writes, state: writes.length > 0 ? { keys, bytes, lastVersion: version } : state };
}

/** `next` applied to a value or a promise of one: synchronous engines stay synchronous. */
export const mapAwaitable = <T, R>(value: Awaitable<T>, next: (value: T) => R): Awaitable<R> => (value instanceof Promise ? value.then(next) : next(value));

/** `alga.storage` over an engine. Every write is a batch, so one definition covers them all. */
export class KeyValueStore {
  constructor(readonly engine: StorageEngine) {}

  getVersioned(namespace: Namespace, key: unknown): Awaitable<StoredValue | undefined> {
    return this.engine.read(checkNamespace(namespace), checkKey(key));
  }

  get(namespace: Namespace, key: unknown): Awaitable<Uint8Array | undefined> {
    return mapAwaitable(this.getVersioned(namespace, key), (stored) => stored?.value);
  }

  list(namespace: Namespace, prefix: unknown, cursor: unknown, limit: unknown): Awaitable<ListPage> {
    if (typeof prefix !== 'string' || prefix.includes(separator)) throw new HostError('invalid', 'The prefix must be a string without NUL.');
    if (cursor !== undefined && typeof cursor !== 'string') throw new HostError('invalid', 'The cursor must be a string from a previous page.');
    const pageSize = Math.max(1, Math.min(Number(limit) || 100, maxPageSize));
    // One entry more than the page tells whether another page follows.
    return mapAwaitable(this.engine.list(checkNamespace(namespace), prefix, cursor || undefined, pageSize + 1), (entries) =>
      entries.length > pageSize ? { entries: entries.slice(0, pageSize), cursor: entries[pageSize - 1].key } : { entries },
    );
  }

  /** With `committing`, it may answer before the commit is done and hand the commit there (see StorageEngine.update). */
  async batch(namespace: Namespace, limits: StorageLimits, operations: unknown, committing?: CommitSink): Promise<BatchOutcome> {
    const checked = checkOperations(operations, limits);
    if (checked.length === 0) return { committed: [] };
    const keys = [...new Set(checked.map((operation) => operation.key))];
    return this.engine.update(checkNamespace(namespace), keys, (current, state) => decideBatch(checked, limits, current, state), committing);
  }

  async put(namespace: Namespace, limits: StorageLimits, key: unknown, value: unknown, committing?: CommitSink): Promise<number> {
    const outcome = await this.batch(namespace, limits, [{ kind: 'put', key, value }], committing);
    return (committedResults(outcome)[0] as { version: number }).version;
  }

  async delete(namespace: Namespace, limits: StorageLimits, key: unknown, committing?: CommitSink): Promise<boolean> {
    const outcome = await this.batch(namespace, limits, [{ kind: 'delete', key }], committing);
    return (committedResults(outcome)[0] as { existed: boolean }).existed;
  }

  async increment(namespace: Namespace, limits: StorageLimits, key: unknown, by: unknown, committing?: CommitSink): Promise<bigint> {
    const outcome = await this.batch(namespace, limits, [{ kind: 'increment', key, by }], committing);
    return (committedResults(outcome)[0] as { value: bigint }).value;
  }

  /**
   * Deletes the namespace (every key and its version, the quota usage; the version counter carries
   * on), durably; the number of keys removed. With `retireInstall`, that install's requests may
   * write to it no more (StorageEngine.purge).
   */
  async purge(namespace: Namespace, retireInstall?: string): Promise<number> {
    const removed = await this.engine.purge(checkNamespace(namespace), retireInstall);
    await this.durable(); // "deleted" is answered only once it is on disk
    return removed;
  }

  /** Resolves once every write that resolved before is durable (see StorageEngine.durable). */
  async durable(): Promise<void> {
    await this.engine.durable?.();
  }

  close(): Awaitable<void> {
    return this.engine.close();
  }
}

function committedResults(outcome: BatchOutcome): OperationResult[] {
  if ('conflict' in outcome) throw new Error('an unconditional operation reported a conflict');
  return outcome.committed;
}
