import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { startTsWorker } from '../../lib/ts-worker.ts';
import type { ServedInWorker } from '../storage/worker-reads.ts';
import { claimToken, type ExecuteMessage, type FailureKind, type ForgetMessage, type GuestCode, type GuestResponse, type HostCallMessage, type HostCallReply, type PrepareMessage, type WorkerMessage } from './protocol.ts';

export type PoolJob = Omit<ExecuteMessage, 'type' | 'jobId'> & {
  deadlineMs: number;
  /** Still waiting for a worker after this long → outcome `queue-timeout` instead of a late run. */
  maxQueueWaitMs?: number;
};

export type PoolOutcome =
  | { kind: 'ok'; response: GuestResponse; memoryBytes: number; freshInstance: boolean; servedInWorker?: ServedInWorker }
  | { kind: FailureKind; message: string; memoryBytes: number; servedInWorker?: ServedInWorker }
  | { kind: 'deadline'; message: string; memoryBytes: number }
  | { kind: 'queue-timeout'; message: string; memoryBytes: number };

export interface PoolHooks<Owner> {
  /** Serves a guest's host call; throw `{tag, val}` (a WIT host-error) to return an error to the guest. */
  hostCall(owner: Owner, call: HostCallMessage): Promise<unknown>;
  stdio(owner: Owner, stream: 'stdout' | 'stderr', text: string, truncated: boolean): void;
  /** Called when a worker is started, replaced or stopped (for metrics). */
  workerEvent?(event: 'started' | 'replaced'): void;
}

interface Slot<Owner> {
  worker: Worker;
  hostPort: MessagePort;
  cell: Int32Array;
  /** The job the worker runs (or, settled, the one whose snapshot it is restoring). */
  busy?: RunningJob<Owner>;
  /** A job already posted behind `busy`, so the worker starts it without waiting for the main thread. */
  next?: RunningJob<Owner>;
  instanceKeys: Set<string>;
  /** Compiled code the worker already holds (modules are posted once per worker). */
  codeKeys: Set<string>;
  alive: boolean;
}

interface RunningJob<Owner> {
  jobId: number;
  owner: Owner;
  queued: QueuedJob<Owner>;
  /** Started when the worker starts the job. */
  timer?: NodeJS.Timeout;
  settled: boolean;
}

interface QueuedJob<Owner> {
  job: PoolJob;
  owner: Owner;
  resolve(outcome: PoolOutcome): void;
  /** Ends the wait in the queue (maxQueueWaitMs). */
  queueTimer?: NodeJS.Timeout;
}

const workerModule = new URL('./guest-worker.ts', import.meta.url);
/** A job posted behind another is copied, not moved (it may have to run elsewhere): only small bodies. */
const maxBodyBehind = 64 * 1024;

/**
 * A fixed set of guest workers, one execution at a time each. A job goes to an idle worker
 * that already holds its instance when there is one; when none is idle, it may be posted
 * behind the running job of a worker holding its instance, so that worker goes straight on
 * to it (no sleep and wake-up between jobs). A job past its deadline has its worker
 * terminated and replaced; a job waiting behind it is run elsewhere. The pool never shrinks.
 */
export class WorkerPool<Owner> {
  private readonly slots: Slot<Owner>[] = [];
  private readonly queue: QueuedJob<Owner>[] = [];
  private nextJobId = 1;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly hooks: PoolHooks<Owner>,
  ) {
    for (let index = 0; index < size; index++) this.slots.push(this.startSlot());
  }

  get queued(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.slots.filter((slot) => slot.busy).length;
  }

  private jobOf(slot: Slot<Owner>, jobId: number): RunningJob<Owner> | undefined {
    if (slot.busy?.jobId === jobId) return slot.busy;
    if (slot.next?.jobId === jobId) return slot.next;
    return undefined;
  }

  /** Runs a job for `owner` (passed back to the hooks). */
  run(job: PoolJob, owner: Owner): Promise<PoolOutcome> {
    return new Promise((resolve) => {
      const queued: QueuedJob<Owner> = { job, owner, resolve };
      this.queue.push(queued);
      this.drain();
      if (job.maxQueueWaitMs !== undefined && this.queue.includes(queued)) {
        queued.queueTimer = setTimeout(() => {
          const index = this.queue.indexOf(queued);
          if (index < 0) return;
          this.queue.splice(index, 1);
          resolve({ kind: 'queue-timeout', message: `No worker was free within ${job.maxQueueWaitMs} ms.`, memoryBytes: 0 });
        }, job.maxQueueWaitMs);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queued of this.queue.splice(0)) {
      clearTimeout(queued.queueTimer);
      queued.resolve({ kind: 'load', message: 'The runner is shutting down.', memoryBytes: 0 });
    }
    for (const slot of this.slots) for (const running of [slot.busy, slot.next]) if (running) this.settle(running, { kind: 'load', message: 'The runner is shutting down.', memoryBytes: 0 });
    await Promise.all(this.slots.map((slot) => this.stopSlot(slot)));
  }

  /** Hands new compiled code to every worker ahead of time, so no request waits for its glue to load. */
  prepare(code: GuestCode): void {
    for (const slot of this.slots) {
      if (!slot.alive || slot.codeKeys.has(code.key)) continue;
      slot.codeKeys.add(code.key);
      slot.worker.postMessage({ type: 'prepare', code } satisfies PrepareMessage);
    }
  }

  /** Drops compiled code from every worker (called when the compiled-module cache evicts it). */
  forget(codeKey: string): void {
    for (const slot of this.slots) {
      if (!slot.codeKeys.delete(codeKey)) continue;
      slot.worker.postMessage({ type: 'forget', codeKey } satisfies ForgetMessage);
    }
  }

  private startSlot(): Slot<Owner> {
    const channel = new MessageChannel();
    const signal = new SharedArrayBuffer(8);
    const worker = startTsWorker(workerModule, {
      workerData: { hostPort: channel.port2, signal },
      transferList: [channel.port2],
      env: {},
      stdout: false,
      stderr: false,
    });
    const slot: Slot<Owner> = { worker, hostPort: channel.port1, cell: new Int32Array(signal), instanceKeys: new Set(), codeKeys: new Set(), alive: true };
    worker.on('message', (message: WorkerMessage) => this.onWorkerMessage(slot, message));
    worker.on('error', (error) => this.onWorkerDeath(slot, `The worker failed: ${error.message}`));
    worker.on('exit', () => this.onWorkerDeath(slot, 'The worker exited.'));
    slot.hostPort.on('message', (call: HostCallMessage) => void this.serveHostCall(slot, call));
    slot.hostPort.unref();
    this.hooks.workerEvent?.('started');
    return slot;
  }

  private async serveHostCall(slot: Slot<Owner>, call: HostCallMessage): Promise<void> {
    // The job may still be `next` here: the host port and the worker's port are not ordered.
    const running = this.jobOf(slot, call.jobId);
    if (!running || running.settled) return;
    let reply: HostCallReply;
    try {
      reply = { value: await this.hooks.hostCall(running.owner, call) };
    } catch (error) {
      const hostError = error as { tag?: string; val?: string };
      reply = typeof hostError?.tag === 'string' ? { error: { tag: hostError.tag, val: String(hostError.val ?? '') } } : { error: { tag: 'unavailable', val: 'The host service failed.' } };
    }
    if (!slot.alive || running.settled || !this.jobOf(slot, call.jobId)) return;
    try {
      slot.hostPort.postMessage(reply);
    } catch {
      slot.hostPort.postMessage({ error: { tag: 'unavailable', val: 'The host answer could not be passed to the extension.' } } satisfies HostCallReply);
    }
    Atomics.store(slot.cell, 0, 1);
    Atomics.notify(slot.cell, 0);
  }

  private onWorkerMessage(slot: Slot<Owner>, message: WorkerMessage): void {
    const running = slot.busy;
    switch (message.type) {
      case 'stdio': {
        const job = this.jobOf(slot, message.jobId);
        if (job && !job.settled) this.hooks.stdio(job.owner, message.stream, message.text, message.truncated);
        return;
      }
      case 'result':
        if (running?.jobId !== message.jobId) return;
        this.settle(running, { kind: 'ok', response: message.response, memoryBytes: message.memoryBytes, freshInstance: message.freshInstance, servedInWorker: message.servedInWorker });
        if (message.instanceKeys) this.finished(slot, message.instanceKeys);
        return;
      case 'failure':
        if (running?.jobId === message.jobId) this.settle(running, { kind: message.kind, message: message.message, memoryBytes: message.memoryBytes, servedInWorker: message.servedInWorker });
        return;
      case 'idle':
        if (running?.jobId === message.jobId) this.finished(slot, message.instanceKeys);
    }
  }

  /** The worker is done with `busy`: it starts the job posted behind it, or it is idle. */
  private finished(slot: Slot<Owner>, instanceKeys: string[]): void {
    slot.instanceKeys = new Set(instanceKeys);
    slot.busy = slot.next;
    slot.next = undefined;
    if (slot.busy) this.startDeadline(slot, slot.busy);
    this.drain();
  }

  private onWorkerDeath(slot: Slot<Owner>, reason: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    if (slot.busy) this.settle(slot.busy, { kind: 'trap', message: reason, memoryBytes: 0 });
    this.replace(slot);
  }

  private replace(slot: Slot<Owner>): void {
    slot.alive = false;
    const waiting = slot.next;
    if (waiting && !waiting.settled) {
      // Run it elsewhere, unless the worker has already started it.
      const queued = this.revoke(slot);
      if (queued) this.queue.unshift(queued);
      else this.settle(waiting, { kind: 'trap', message: 'The worker running it was stopped.', memoryBytes: 0 });
    }
    slot.next = undefined;
    const index = this.slots.indexOf(slot);
    void this.stopSlot(slot);
    if (index < 0 || this.closed) return;
    this.slots[index] = this.startSlot();
    this.hooks.workerEvent?.('replaced');
    this.drain();
  }

  private async stopSlot(slot: Slot<Owner>): Promise<void> {
    slot.alive = false;
    slot.hostPort.close();
    await slot.worker.terminate().catch(() => {});
  }

  private settle(running: RunningJob<Owner>, outcome: PoolOutcome): void {
    if (running.settled) return;
    running.settled = true;
    clearTimeout(running.timer);
    running.queued.resolve(outcome);
  }

  /** Takes back the job posted behind a running one, if the worker has not started it yet. */
  private revoke(slot: Slot<Owner>): QueuedJob<Owner> | undefined {
    const waiting = slot.next;
    if (!waiting) return undefined;
    const token = claimToken(waiting.jobId);
    if (Atomics.compareExchange(slot.cell, 1, token, -token) !== token) return undefined;
    slot.next = undefined;
    return waiting.queued;
  }

  private startDeadline(slot: Slot<Owner>, running: RunningJob<Owner>): void {
    const { deadlineMs } = running.queued.job;
    running.timer = setTimeout(() => {
      this.settle(running, { kind: 'deadline', message: `No answer within ${deadlineMs} ms.`, memoryBytes: 0 });
      this.replace(slot);
    }, deadlineMs);
  }

  /** An idle worker (one holding the instance first), else a busy one holding the instance with nothing posted behind its job. */
  private pickSlot(job: PoolJob): { slot: Slot<Owner>; behind: boolean } | undefined {
    const { instanceKey } = job;
    let idle: Slot<Owner> | undefined;
    let behind: Slot<Owner> | undefined;
    for (const slot of this.slots) {
      if (!slot.alive) continue;
      if (!slot.busy) {
        if (slot.instanceKeys.has(instanceKey)) return { slot, behind: false };
        if (!idle || slot.instanceKeys.size < idle.instanceKeys.size) idle = slot;
      } else if (!slot.next && !behind && slot.instanceKeys.has(instanceKey)) behind = slot;
    }
    if (idle) return { slot: idle, behind: false };
    return behind && job.request.body.byteLength <= maxBodyBehind ? { slot: behind, behind: true } : undefined;
  }

  private drain(): void {
    if (this.closed) return;
    while (this.queue.length > 0) {
      const picked = this.pickSlot(this.queue[0].job);
      if (!picked) return;
      this.dispatch(picked.slot, this.queue.shift()!, picked.behind);
    }
    // Nothing queued: an idle worker takes over a job waiting behind a running one (which may be slow).
    for (const idle of this.slots) {
      if (idle.busy || !idle.alive) continue;
      const holder = this.slots.find((slot) => slot.alive && slot.next);
      const queued = holder && this.revoke(holder);
      if (queued) this.dispatch(idle, queued, false);
    }
  }

  private dispatch(slot: Slot<Owner>, queued: QueuedJob<Owner>, behind: boolean): void {
    const { job, owner } = queued;
    clearTimeout(queued.queueTimer);
    const jobId = this.nextJobId++;
    const running: RunningJob<Owner> = { jobId, owner, queued, settled: false };
    if (behind) {
      slot.next = running;
      Atomics.store(slot.cell, 1, claimToken(jobId));
    } else {
      slot.busy = running;
      this.startDeadline(slot, running);
    }
    const { deadlineMs: _deadline, maxQueueWaitMs: _queueWait, code, ...rest } = job;
    const known = slot.codeKeys.has(code.key);
    slot.codeKeys.add(code.key);
    const sent = known ? { key: code.key, modulePath: code.modulePath, memoryLimitBytes: code.memoryLimitBytes } : code;
    // The body is the pool's to give away: move it instead of copying it.
    const body = rest.request.body;
    const movable = !behind && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.byteLength > 0 && !(body.buffer instanceof SharedArrayBuffer);
    slot.worker.postMessage({ type: 'execute', jobId, code: sent, ...rest } satisfies ExecuteMessage, movable ? [body.buffer as ArrayBuffer] : []);
  }
}
