/// <reference path="../../sdk/runtime/generated/extension@0.1.0.d.ts" />
import type * as Wit from 'alga:extension/storage@0.1.0';
import { Counter, type Registry } from 'prom-client';
import { AlgaError } from '../../lib/errors/index.ts';
import { storageFaultOf } from '../../lib/storage-faults.ts';
import type { Awaitable, CommitSink, Namespace } from '../storage/engine.ts';
import { mapAwaitable, type BatchOutcome, type Expectation, type KeyValueStore, type Operation, type StorageLimits } from '../storage/key-value-store.ts';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';

/**
 * `alga.storage`: the WIT functions of wit/storage.wit over the KeyValueStore (namespaced by
 * tenant + extension, quotas per namespace, atomic counters, versions and batches; see
 * runner/storage/). This module turns WIT values into store calls and counts them.
 */

const namespaceOf = (scope: ExecutionScope): Namespace => ({ tenantId: scope.tenantId, extensionId: scope.extensionId, installId: scope.installId });
const limitsOf = (scope: ExecutionScope): StorageLimits => ({ maxKeys: scope.limits.maxStorageKeys, maxBytes: scope.limits.maxStorageBytes, maxValueBytes: scope.limits.maxStorageValueBytes });

/** A version the guest sends back; one beyond what any read returned can never match. */
function versionFromWit(version: unknown): number {
  if (typeof version !== 'bigint' || version < 0n) throw new HostError('invalid', 'A version must be a whole number from a previous read.');
  return version > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(version);
}

function expectationFromWit(expect: Wit.Expectation | undefined): Expectation | undefined {
  if (expect === undefined) return undefined;
  switch (expect?.tag) {
    case 'absent':
      return { kind: 'absent' };
    case 'version':
      return { kind: 'version', version: versionFromWit(expect.val) };
    case 'value':
      return { kind: 'value', value: expect.val };
    default:
      throw new HostError('invalid', 'An expectation must be absent, a version or a value.');
  }
}

function operationFromWit(operation: Wit.Operation): Operation {
  switch (operation?.tag) {
    case 'put':
      return { kind: 'put', key: operation.val.key, value: operation.val.value, expect: expectationFromWit(operation.val.expect) };
    case 'delete':
      return { kind: 'delete', key: operation.val.key, expect: expectationFromWit(operation.val.expect) };
    case 'increment':
      return { kind: 'increment', key: operation.val.key, by: operation.val.by };
    case 'check': {
      const expect = expectationFromWit(operation.val.expect);
      if (!expect) throw new HostError('invalid', 'A check needs an expectation.');
      return { kind: 'check', key: operation.val.key, expect };
    }
    default:
      throw new HostError('invalid', 'An operation must be put, delete, increment or check.');
  }
}

function outcomeToWit(outcome: BatchOutcome): Wit.BatchOutcome {
  if ('conflict' in outcome) {
    const { index, key, currentVersion } = outcome.conflict;
    return { tag: 'conflict', val: { index, key, currentVersion: currentVersion === undefined ? undefined : BigInt(currentVersion) } };
  }
  return {
    tag: 'committed',
    val: outcome.committed.map((result): Wit.OperationResult => {
      switch (result.kind) {
        case 'put':
          return { tag: 'put', val: BigInt(result.version) };
        case 'delete':
          return { tag: 'delete', val: result.existed };
        case 'increment':
          return { tag: 'increment', val: result.value };
        case 'check':
          return { tag: 'check' };
      }
    }),
  };
}

type ReadFunction = (store: KeyValueStore, namespace: Namespace, args: unknown[]) => Awaitable<unknown>;

/** The read functions of the interface; guest workers serve them too (runner/storage/worker-reads.ts). */
export const storageReads: Record<string, ReadFunction> = {
  get: (store, namespace, [key]) => store.get(namespace, key),
  getVersioned: (store, namespace, [key]) => mapAwaitable(store.getVersioned(namespace, key), (stored) => stored && ({ value: stored.value, version: BigInt(stored.version) } satisfies Wit.VersionedValue)),
  listByPrefix: (store, namespace, [prefix, cursor, limit]) => store.list(namespace, prefix, cursor, limit),
};

/** The `operation` label of runner_storage_operations_total for each function. */
const operationOf: Record<string, string> = { get: 'get', getVersioned: 'get', listByPrefix: 'list', put: 'put', delete: 'delete', increment: 'increment', batch: 'batch' };

export function createStorageFactor(options: { store: KeyValueStore; registry: Registry }): CapabilityFactor {
  const { store } = options;
  /**
   * Executions that wrote, with the commits of their writes: a write answers the guest once it is
   * decided (the worker goes on while LMDB commits), the execution's own later reads wait for
   * those commits, and its answer waits until they are done and durable.
   */
  const commitsOf = new WeakMap<ExecutionScope, Array<Promise<void>>>();
  const writing = <T>(scope: ExecutionScope, write: (committing: CommitSink) => Promise<T>): Promise<T> => {
    let commits = commitsOf.get(scope);
    if (!commits) commitsOf.set(scope, (commits = [])); // also when it fails: a failed batch may have raced a flush, and waiting costs nothing then
    return write((commit) => {
      // Marked handled at once: an execution that ends without settling (a trap, its deadline)
      // never awaits it, and an unhandled rejection would stop the runner. Settling still sees it fail.
      commit.catch(() => undefined);
      commits.push(commit);
    });
  };
  /** Runs a read once the execution's own writes are visible (at once when it has none in flight). */
  const afterOwnWrites = <T>(scope: ExecutionScope, read: () => Awaitable<T>): Awaitable<T> => {
    const commits = commitsOf.get(scope);
    return commits?.length ? Promise.all(commits).then(read) : read();
  };
  const operations = new Counter({
    name: 'runner_storage_operations_total',
    help: 'Guest storage operations by operation and result (ok, conflict, or the host-error case).',
    labelNames: ['operation', 'result'],
    registers: [options.registry],
  });

  async function counted<T>(operation: string, run: () => T | Promise<T>, resultOf: (value: T) => string = () => 'ok'): Promise<T> {
    try {
      const result = await run();
      operations.inc({ operation, result: resultOf(result) });
      return result;
    } catch (error) {
      operations.inc({ operation, result: error instanceof HostError ? error.tag : 'error' });
      throw error;
    }
  }

  return {
    capability: 'alga.storage',
    iface: 'storage',
    functions: {
      get: (scope, args) => counted('get', () => afterOwnWrites(scope, () => storageReads.get(store, namespaceOf(scope), args))),
      getVersioned: (scope, args) => counted('get', () => afterOwnWrites(scope, () => storageReads.getVersioned(store, namespaceOf(scope), args))),
      put: (scope, [key, value]) =>
        counted('put', async () => {
          await writing(scope, (committing) => store.put(namespaceOf(scope), limitsOf(scope), key, value, committing));
        }),
      delete: (scope, [key]) => counted('delete', () => writing(scope, (committing) => store.delete(namespaceOf(scope), limitsOf(scope), key, committing))),
      listByPrefix: (scope, args) => counted('list', () => afterOwnWrites(scope, () => storageReads.listByPrefix(store, namespaceOf(scope), args))),
      increment: (scope, [key, by]) => counted('increment', () => writing(scope, (committing) => store.increment(namespaceOf(scope), limitsOf(scope), key, by, committing))),
      batch: (scope, [witOperations]) =>
        counted(
          'batch',
          async () => {
            if (!Array.isArray(witOperations)) throw new HostError('invalid', 'A batch must be a list of operations.');
            const operations = (witOperations as Wit.Operation[]).map(operationFromWit);
            return outcomeToWit(await writing(scope, (committing) => store.batch(namespaceOf(scope), limitsOf(scope), operations, committing)));
          },
          (outcome) => (outcome.tag === 'conflict' ? 'conflict' : 'ok'),
        ),
    },
    countServedElsewhere(fn, result, count) {
      operations.inc({ operation: operationOf[fn] ?? fn, result }, count);
    },
    async settle(scope) {
      const commits = commitsOf.get(scope);
      if (!commits) return;
      try {
        await Promise.all(commits);
        await store.durable();
      } catch (error) {
        // The system's own message names files under the data folder: it stays in the cause, for the log.
        const what = storageFaultOf(error) === 'full' ? 'the disk is full' : 'the disk refused the write';
        throw new AlgaError('E_RUNNER_STORAGE_NOT_DURABLE', `Request ${scope.requestId}: ${what}.`, { cause: error });
      }
    },
  };
}
