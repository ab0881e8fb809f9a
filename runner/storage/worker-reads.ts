import { HostError } from '../capabilities/factor.ts';
import { storageReads } from '../capabilities/storage.ts';
import { KeyValueStore } from './key-value-store.ts';
import { openLmdbStorageEngine, type LmdbStorageEngine } from './lmdb-engine.ts';

/**
 * `alga.storage` reads answered inside a guest worker, from the worker's own handle on the
 * runner's LMDB environment (lmdb-js shares one environment between the threads of a process),
 * so a read costs no round trip to the main thread. The same KeyValueStore and read functions
 * as on the main thread define what a read means. A request's reads here see one snapshot,
 * taken at its first read and renewed after each call it sends to the main thread: everything
 * committed before the request started. A write answers the guest before its commit is done, so
 * once a request has written, its reads go to the main thread, which answers them when the
 * request's writes are visible (its own writes are always seen). Only
 * granted reads are served here (the main thread decides, see `StorageReadGrant`); everything
 * else — writes, calls without the grant (denied and audited there), other interfaces — goes to
 * the main thread as before. What was served here is tallied and reported with the result, so
 * the execution record and the metrics count it.
 */

/** Sent with a job whose install was granted `alga.storage` when the engine lets workers read. */
export interface StorageReadGrant {
  /** The engine's `workerReadPath`. */
  path: string;
}

/** Host calls a worker answered itself, by `iface.function:result` (`storage.get:ok`). */
export type ServedInWorker = Record<string, number>;

export class WorkerStorageReads {
  private readonly engines = new Map<string, { engine: LmdbStorageEngine; store: KeyValueStore }>();
  private served: ServedInWorker = {};
  private any = false;
  /** The request the snapshot was taken for, and whether a call since went to the main thread. */
  private snapshotFor: object | undefined;
  private stale = true;
  /** The request that sent a write to the main thread: its later reads go there too. */
  private wroteFor: object | undefined;

  /**
   * The value of `alga:extension/{iface}.{fn}(args)` when this worker may answer it, else
   * undefined (the caller sends it to the main thread). A refused read throws the WIT error the
   * guest sees, `{payload: {tag, val}}`.
   */
  serve(grant: StorageReadGrant | undefined, context: { tenantId: string; extensionId: string }, iface: string, fn: string, args: unknown[]): { value: unknown } | undefined {
    if (!grant || iface !== 'storage' || !Object.prototype.hasOwnProperty.call(storageReads, fn)) {
      this.stale = true; // the main thread answers it, and it may write
      if (iface === 'storage') this.wroteFor = context;
      return undefined;
    }
    if (this.wroteFor === context) return undefined; // its write may still be committing: the main thread reads once it is visible
    const { engine, store } = this.open(grant.path);
    if (this.stale || this.snapshotFor !== context) {
      engine.renewReads();
      this.snapshotFor = context;
      this.stale = false;
    }
    const namespace = { tenantId: context.tenantId, extensionId: context.extensionId };
    let value: unknown;
    try {
      value = storageReads[fn](store, namespace, args);
    } catch (error) {
      if (!(error instanceof HostError)) return undefined; // the main thread answers it, and reports what went wrong
      this.count(fn, error.tag);
      throw { payload: { tag: error.tag, val: error.val } };
    }
    if (value instanceof Promise) return undefined; // not an engine that reads synchronously
    this.count(fn, 'ok');
    return { value };
  }

  /** What was served since the last call (undefined when nothing was). */
  take(): ServedInWorker | undefined {
    if (!this.any) return undefined;
    const served = this.served;
    this.served = {};
    this.any = false;
    return served;
  }

  private count(fn: string, result: string): void {
    const key = `storage.${fn}:${result}`;
    this.served[key] = (this.served[key] ?? 0) + 1;
    this.any = true;
  }

  private open(path: string): { engine: LmdbStorageEngine; store: KeyValueStore } {
    let opened = this.engines.get(path);
    if (!opened) {
      const engine = openLmdbStorageEngine({ path });
      opened = { engine, store: new KeyValueStore(engine) };
      this.engines.set(path, opened);
    }
    return opened;
  }
}
