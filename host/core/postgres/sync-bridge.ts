import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { DatabaseSettings } from '../../../lib/postgres/connection.ts';
import { health, healthSlot, responseSlot, type SqlFailure, type SqlQuery, type SqlResponse, type SyncWorkerData } from './sync-protocol.ts';

/** A refused statement or lost connection, as the worker reported it. */
export class SqlError extends Error {
  constructor(readonly failure: SqlFailure) {
    super(failure.message);
    this.name = 'SqlError';
  }
}

/**
 * Synchronous SQL for the host store's synchronous contract: each call posts the queries to the
 * worker thread (sync-worker.ts) and blocks this thread on Atomics.wait until the answer is back —
 * the pattern the runner uses for guest host calls. A call the worker does not answer within the
 * connect and statement timeouts is given up (E_DATABASE_UNAVAILABLE) and the worker replaced, so
 * a hung database never blocks the host for longer than that.
 */
export class SyncSql {
  private worker?: Worker;
  private port?: MessagePort;
  private readonly shared = new SharedArrayBuffer(8);
  private readonly slots = new Int32Array(this.shared);
  private sequence = 0;
  private readonly answerWithinMs: number;

  constructor(
    private readonly settings: DatabaseSettings,
    private readonly applicationName: string,
    private readonly healthIntervalMs = 2_000,
  ) {
    this.answerWithinMs = settings.connectTimeoutMs + settings.statementTimeoutMs + 1_000;
  }

  /** Runs the queries in order on the one connection; the rows of each (as arrays). Throws SqlError. */
  run(queries: SqlQuery[], inTransaction = false): unknown[][][] {
    const port = this.ensureWorker();
    const id = ++this.sequence;
    Atomics.store(this.slots, responseSlot, 0);
    port.postMessage({ id, queries, inTransaction });
    const deadline = Date.now() + this.answerWithinMs;
    for (;;) {
      const waited = Atomics.wait(this.slots, responseSlot, 0, Math.max(0, deadline - Date.now()));
      const received = receiveMessageOnPort(port)?.message as SqlResponse | undefined;
      if (received && received.id === id) {
        if ('failure' in received) throw new SqlError(received.failure);
        return received.results;
      }
      if (waited === 'timed-out' || Date.now() >= deadline) {
        this.replaceWorker();
        Atomics.store(this.slots, healthSlot, health.down);
        throw new AlgaError('E_DATABASE_UNAVAILABLE', `${this.settings.described} did not answer within ${this.answerWithinMs} ms.`);
      }
      // Woken without our answer (a stale notification): wait again.
      Atomics.store(this.slots, responseSlot, 0);
    }
  }

  /** What the worker last saw of the database: answering, not answering, or not yet known. */
  health(): 'up' | 'down' | 'unknown' {
    const value = Atomics.load(this.slots, healthSlot);
    return value === health.up ? 'up' : value === health.down ? 'down' : 'unknown';
  }

  async close(): Promise<void> {
    const worker = this.worker;
    const port = this.port;
    this.worker = undefined;
    this.port = undefined;
    if (!worker || !port) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    port.postMessage({ close: true });
    const forced = setTimeout(() => void worker.terminate(), 2_000);
    await exited;
    clearTimeout(forced);
  }

  private ensureWorker(): MessagePort {
    if (this.port) return this.port;
    const { port1, port2 } = new MessageChannel();
    const data: SyncWorkerData & { port: MessagePort } = {
      url: this.settings.url,
      connectTimeoutMs: this.settings.connectTimeoutMs,
      statementTimeoutMs: this.settings.statementTimeoutMs,
      applicationName: this.applicationName,
      shared: this.shared,
      healthIntervalMs: this.healthIntervalMs,
      port: port2,
    };
    // tsx inside the thread loads the TypeScript worker module (resolved here, not in the thread).
    const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sync-worker.ts', import.meta.url).href)}); });`;
    const worker = new Worker(bootstrap, { eval: true, workerData: data, transferList: [port2] });
    // The host must not stay up for the worker's sake, nor crash when it fails.
    worker.unref();
    worker.on('error', () => {
      if (this.worker === worker) this.forgetWorker();
    });
    worker.on('exit', () => {
      if (this.worker === worker) this.forgetWorker();
    });
    this.worker = worker;
    this.port = port1;
    return port1;
  }

  private forgetWorker(): void {
    this.port?.close();
    this.worker = undefined;
    this.port = undefined;
  }

  private replaceWorker(): void {
    const worker = this.worker;
    this.forgetWorker();
    void worker?.terminate();
  }
}
