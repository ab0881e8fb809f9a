import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { guestWorkerSource } from './guest-worker-source.ts';
import type { WorkerLimits } from './guest-worker.ts';
import type { ServedInWorker } from '../storage/worker-reads.ts';
import {
  withoutModules,
  claimToken, preparingPhase, sharedClockMs, SlotCell, slotSignalBytes, slotViews,
  type ExecuteMessage, type FailureKind, type ForgetMessage, type GuestCode, type GuestResponse, type HoldingChanges, type HostCallMessage, type HostCallReply, type PrepareMessage, type WorkerMessage,
} from './protocol.ts';

export type PoolJob = Omit<ExecuteMessage, 'type' | 'jobId' | 'claim'> & {
  /** Whose job it is, for sharing the workers fairly. */
  tenant: string;
  /** Still waiting for a worker after this long → outcome `queue-timeout` instead of a late run. */
  maxQueueWaitMs?: number;
};

export type PoolOutcome =
  | { kind: 'ok'; response: GuestResponse; memoryBytes: number; freshInstance: boolean; servedInWorker?: ServedInWorker }
  | { kind: FailureKind; message: string; memoryBytes: number; servedInWorker?: ServedInWorker }
  | { kind: 'deadline'; message: string; memoryBytes: number }
  | { kind: 'start-timeout'; message: string; memoryBytes: number }
  | { kind: 'queue-timeout'; message: string; memoryBytes: number };

export interface PoolHooks<Owner> {
  /** Serves a guest's host call; throw `{tag, val}` (a WIT host-error) to return an error to the guest. */
  hostCall(owner: Owner, call: HostCallMessage): Promise<unknown>;
  stdio(owner: Owner, stream: 'stdout' | 'stderr', text: string, truncated: boolean): void;
  /** Called when a worker is started, replaced or stopped (for metrics). */
  workerEvent?(event: 'started' | 'replaced'): void;
}

export interface PoolOptions extends WorkerLimits {
  /** Workers any one tenant may keep busy. */
  workers: number;
  /** Workers beyond those, kept for tenants with nothing running (so one tenant never holds every worker). */
  reserveWorkers: number;
  /** Budget for making a job's instance ready (instantiation, a tenant switch), not counted against its deadline. */
  instantiateTimeoutMs: number;
}

export interface PoolStats {
  workers: number;
  busy: number;
  queued: number;
  instances: number;
  instanceMemoryBytes: number;
  /** Since the pool started (replaced workers included). */
  instantiations: number;
  tenantSwitches: number;
}

interface Slot<Owner> {
  worker: Worker;
  hostPort: MessagePort;
  cells: Int32Array;
  phaseSince: BigInt64Array;
  /** False until the worker has loaded (nothing is dispatched to it before). */
  ready: boolean;
  /** While a replacement boots, the tenant whose job made it necessary (its boot counts as that tenant's use). */
  bootingFor?: string;
  /** The job the worker runs (or, settled, the one whose snapshot it is restoring). */
  busy?: RunningJob<Owner>;
  /** A job already posted behind `busy`, so the worker starts it without waiting for the main thread. */
  next?: RunningJob<Owner>;
  /** Instance keys the worker holds, and `code|<codeKey>` for each code it has an instance of. */
  holdings: Set<string>;
  /** Compiled code the worker already holds (modules are posted once per worker). */
  codeKeys: Set<string>;
  /** Preparations with an instance that the worker has not reported done, by code key. */
  preparing: Map<string, Array<() => void>>;
  alive: boolean;
}

interface RunningJob<Owner> {
  jobId: number;
  owner: Owner;
  queued: QueuedJob<Owner>;
  timer?: NodeJS.Timeout;
  /** When the main thread handed it to the worker (shared clock). */
  handedAt: number;
  settled: boolean;
}

interface QueuedJob<Owner> {
  job: PoolJob;
  owner: Owner;
  /** Arrival order, for first come first served within a tenant and between equal tenants. */
  seq: number;
  /** Times a younger job went first because the free worker already held its instance or was its home. */
  passedOver: number;
  /** Hash of its instance key: which worker is its home (see choose). */
  home: number;
  resolve(outcome: PoolOutcome): void;
  /** Ends the wait in the queue (maxQueueWaitMs). */
  queueTimer?: NodeJS.Timeout;
}

/** A job posted behind another is copied, not moved (it may have to run elsewhere): only small bodies. */
const maxBodyBehind = 64 * 1024;
/** Of the oldest queued jobs of the tenants next in line, how many a free worker looks at for one whose instance it holds or whose home it is. */
const affinityWindow = 16;
/** A job passed over this many times for younger ones is served first, wherever its instance is. */
const maxPassedOver = 8;

/** FNV-1a: spreads instance keys over the workers. */
function hashOf(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) hash = Math.imul(hash ^ text.charCodeAt(index), 0x01000193);
  return hash >>> 0;
}

/**
 * The guest workers and the order in which they serve tenants.
 *
 * - **One execution per worker**; a job past its deadline has its worker terminated and
 *   replaced. The deadline counts from the moment the guest call starts: making the instance
 *   ready (instantiation, a tenant switch) has a budget of its own, and a replacement worker
 *   takes no job until it has booted.
 * - **Fair share.** Each tenant has its own queue. A free worker serves the tenant using the
 *   fewest workers (a replacement still booting counts for the tenant whose job was stopped),
 *   oldest job first, preferring among equals a job whose instance it already holds. A tenant
 *   already running something never takes the last `reserveWorkers` idle workers: those are
 *   kept for tenants with nothing running, so one tenant's load never delays another's start.
 * - **Straight on.** When a tenant alone is waiting, its job may be posted behind the running
 *   job of a worker holding its instance (no sleep and wake-up between jobs); if an idle worker
 *   appears first, or the worker is replaced, the job is taken back — exactly once, by a claim
 *   on a shared cell — and run elsewhere.
 */
export class WorkerPool<Owner> {
  private readonly slots: Slot<Owner>[] = [];
  /** Waiting jobs by tenant; a tenant is present only while it has some. */
  private readonly queues = new Map<string, QueuedJob<Owner>[]>();
  private queuedCount = 0;
  private nextJobId = 1;
  private nextSeq = 1;
  private closed = false;
  private readonly retired = { instantiations: 0, tenantSwitches: 0 };
  /** Codes whose instance could not be made ready in time (a warm-up that never ends): sent without warm-up paths from then on. */
  private readonly warmUpsStuck = new Set<string>();
  private readonly limits: WorkerLimits;

  constructor(
    private readonly options: PoolOptions,
    private readonly hooks: PoolHooks<Owner>,
  ) {
    this.limits = { maxInstances: options.maxInstances, instanceMemoryBytes: options.instanceMemoryBytes };
    for (let index = 0; index < this.size; index++) this.slots.push(this.startSlot());
  }

  /** Worker threads in all (the reserve included). */
  get size(): number {
    return this.options.workers + this.options.reserveWorkers;
  }

  get queued(): number {
    return this.queuedCount;
  }

  get busy(): number {
    return this.slots.filter((slot) => slot.busy).length;
  }

  stats(): PoolStats {
    const stats: PoolStats = { workers: this.size, busy: this.busy, queued: this.queuedCount, instances: 0, instanceMemoryBytes: 0, ...this.retired };
    for (const slot of this.slots) {
      stats.instances += Atomics.load(slot.cells, SlotCell.instances);
      stats.instanceMemoryBytes += Atomics.load(slot.cells, SlotCell.instanceKiB) * 1024;
      stats.instantiations += Atomics.load(slot.cells, SlotCell.instantiations);
      stats.tenantSwitches += Atomics.load(slot.cells, SlotCell.tenantSwitches);
    }
    return stats;
  }

  /** Runs a job for `owner` (passed back to the hooks). */
  run(job: PoolJob, owner: Owner): Promise<PoolOutcome> {
    return new Promise((resolve) => {
      const queued: QueuedJob<Owner> = { job, owner, resolve, seq: this.nextSeq++, passedOver: 0, home: hashOf(job.instanceKey) };
      this.enqueue(queued);
      this.drain();
      if (job.maxQueueWaitMs !== undefined && this.isQueued(queued)) {
        queued.queueTimer = setTimeout(() => {
          if (!this.dequeue(queued)) return;
          resolve({ kind: 'queue-timeout', message: `No worker was free within ${job.maxQueueWaitMs} ms.`, memoryBytes: 0 });
        }, job.maxQueueWaitMs);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const queue of this.queues.values()) {
      for (const queued of queue) {
        clearTimeout(queued.queueTimer);
        queued.resolve({ kind: 'load', message: 'The runner is shutting down.', memoryBytes: 0 });
      }
    }
    this.queues.clear();
    this.queuedCount = 0;
    for (const slot of this.slots) for (const running of [slot.busy, slot.next]) if (running) this.settle(running, { kind: 'load', message: 'The runner is shutting down.', memoryBytes: 0 });
    await Promise.all(this.slots.map((slot) => this.stopSlot(slot)));
  }

  /**
   * Hands new compiled code to every worker ahead of time, so no request waits for its glue to
   * load; with `instantiate`, the least loaded worker also readies a clean instance of it (unless
   * a worker holds one of the code already), and the promise resolves once it has.
   */
  prepare(code: GuestCode, instantiate = false): Promise<void> {
    const target = instantiate ? this.leastHolding(code.key) : undefined;
    // The worker making it (this call's, or an earlier one's still under way) tells when it is done.
    const maker = target ?? (instantiate ? this.slots.find((slot) => slot.alive && slot.preparing.has(code.key)) : undefined);
    const done = maker ? new Promise<void>((resolve) => maker.preparing.set(code.key, [...(maker.preparing.get(code.key) ?? []), resolve])) : Promise.resolve();
    if (target) this.watchPreparation(target);
    for (const slot of this.slots) {
      if (!slot.alive) continue;
      const known = slot.codeKeys.has(code.key);
      if (known && slot !== target) continue;
      slot.codeKeys.add(code.key);
      if (slot === target) slot.holdings.add(`clean|${code.key}`); // counted on at once: the worker makes it before any job sent after
      slot.worker.postMessage({ type: 'prepare', code: this.sendable(code, known), ...(slot === target ? { instantiate: true } : {}) } satisfies PrepareMessage);
    }
    return done;
  }

  /** The code as posted to a worker: its modules only when the worker does not hold them yet. */
  private sendable(code: GuestCode, known: boolean): GuestCode {
    const sent = known ? withoutModules(code) : code;
    return this.warmUpsStuck.has(code.key) ? { ...sent, warmUpPaths: [] } : sent;
  }

  /** Drops compiled code from every worker (called when the compiled-module cache evicts it). */
  forget(codeKey: string): void {
    this.warmUpsStuck.delete(codeKey);
    for (const slot of this.slots) {
      if (!slot.codeKeys.delete(codeKey)) continue;
      slot.worker.postMessage({ type: 'forget', codeKey } satisfies ForgetMessage);
    }
  }

  /**
   * A worker making a prepared instance runs the guest's warm-up with no deadline of its own:
   * stuck there past the instantiation budget (a guest looping in its warm-up), it is replaced.
   */
  private watchPreparation(slot: Slot<Owner>): void {
    const budget = this.options.instantiateTimeoutMs;
    const timer = setInterval(() => {
      if (!slot.alive || slot.preparing.size === 0) return clearInterval(timer);
      const { phase, since } = this.phaseOf(slot);
      if (phase !== preparingPhase || sharedClockMs() - since < budget) return;
      clearInterval(timer);
      // A job handed to it waits behind the preparation, so it has not started: it runs elsewhere.
      const waiting = slot.busy;
      if (waiting && !waiting.settled) {
        clearTimeout(waiting.timer);
        slot.busy = undefined;
        this.enqueue(waiting.queued, true);
      }
      for (const codeKey of slot.preparing.keys()) this.warmUpsStuck.add(codeKey);
      this.replace(slot);
    }, budget);
    timer.unref();
  }

  /** The live worker to ready an instance of `codeKey` in, unless one already holds one. */
  private leastHolding(codeKey: string): Slot<Owner> | undefined {
    const live = this.slots.filter((slot) => slot.alive);
    if (live.some((slot) => slot.holdings.has(`code|${codeKey}`) || slot.holdings.has(`clean|${codeKey}`))) return undefined;
    return live.sort((a, b) => Atomics.load(a.cells, SlotCell.instances) - Atomics.load(b.cells, SlotCell.instances))[0];
  }

  private startSlot(bootingFor?: string): Slot<Owner> {
    const channel = new MessageChannel();
    const signal = new SharedArrayBuffer(slotSignalBytes);
    const worker = new Worker(guestWorkerSource(), {
      eval: true,
      workerData: { hostPort: channel.port2, signal, limits: this.limits },
      transferList: [channel.port2],
      env: {},
      stdout: false,
      stderr: false,
    });
    const slot: Slot<Owner> = { worker, hostPort: channel.port1, ...slotViews(signal), ready: false, bootingFor, holdings: new Set(), codeKeys: new Set(), preparing: new Map(), alive: true };
    worker.on('message', (message: WorkerMessage) => this.onWorkerMessage(slot, message));
    worker.on('error', (error) => this.onWorkerDeath(slot, `The worker failed: ${error.message}`));
    worker.on('exit', () => this.onWorkerDeath(slot, 'The worker exited.'));
    slot.hostPort.on('message', (call: HostCallMessage) => void this.serveHostCall(slot, call));
    slot.hostPort.unref();
    this.hooks.workerEvent?.('started');
    return slot;
  }

  /** Every call gets one answer, `unavailable` when its job is no longer this worker's to run. */
  private async serveHostCall(slot: Slot<Owner>, call: HostCallMessage): Promise<void> {
    // The job may still be `next` here: the host port and the worker's port are not ordered.
    const running = this.jobOf(slot, call.jobId);
    let reply: HostCallReply;
    if (!running || running.settled) {
      reply = { callId: call.callId, error: { tag: 'unavailable', val: 'The execution this call belongs to has ended.' } };
    } else {
      try {
        reply = { callId: call.callId, value: await this.hooks.hostCall(running.owner, call) };
      } catch (error) {
        const hostError = error as { tag?: string; val?: string };
        reply = { callId: call.callId, error: typeof hostError?.tag === 'string' ? { tag: hostError.tag, val: String(hostError.val ?? '') } : { tag: 'unavailable', val: 'The host service failed.' } };
      }
    }
    if (!slot.alive) return; // the worker is gone with the call
    try {
      slot.hostPort.postMessage(reply);
    } catch {
      slot.hostPort.postMessage({ callId: call.callId, error: { tag: 'unavailable', val: 'The host answer could not be passed to the extension.' } } satisfies HostCallReply);
    }
    Atomics.add(slot.cells, SlotCell.hostReply, 1);
    Atomics.notify(slot.cells, SlotCell.hostReply);
  }

  private jobOf(slot: Slot<Owner>, jobId: number): RunningJob<Owner> | undefined {
    if (slot.busy?.jobId === jobId) return slot.busy;
    if (slot.next?.jobId === jobId) return slot.next;
    return undefined;
  }

  private applyChanges(slot: Slot<Owner>, changes: HoldingChanges | undefined): void {
    if (!changes) return;
    for (const [key, present] of changes) {
      if (present) slot.holdings.add(key);
      else slot.holdings.delete(key);
    }
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
        this.applyChanges(slot, message.changes);
        if (running?.jobId !== message.jobId) return;
        this.settle(running, { kind: 'ok', response: message.response, memoryBytes: message.memoryBytes, freshInstance: message.freshInstance, servedInWorker: message.servedInWorker });
        if (message.idle) this.finished(slot);
        return;
      case 'failure':
        this.applyChanges(slot, message.changes);
        if (running?.jobId === message.jobId) this.settle(running, { kind: message.kind, message: message.message, memoryBytes: message.memoryBytes, servedInWorker: message.servedInWorker });
        return;
      case 'idle':
        this.applyChanges(slot, message.changes);
        if (running?.jobId === message.jobId) this.finished(slot);
        return;
      case 'holding':
        this.applyChanges(slot, message.changes);
        return;
      case 'prepared': {
        this.applyChanges(slot, message.changes);
        const waiting = slot.preparing.get(message.codeKey);
        slot.preparing.delete(message.codeKey);
        for (const resolve of waiting ?? []) resolve();
        this.drain();
        return;
      }
      case 'ready':
        slot.ready = true;
        slot.bootingFor = undefined;
        this.drain();
    }
  }

  /** The worker is done with `busy`: it starts the job posted behind it, or it is idle. */
  private finished(slot: Slot<Owner>): void {
    slot.busy = slot.next;
    slot.next = undefined;
    if (slot.busy) {
      slot.busy.handedAt = sharedClockMs();
      this.armDeadline(slot, slot.busy, slot.busy.queued.job.deadlineMs);
    }
    this.drain();
  }

  private onWorkerDeath(slot: Slot<Owner>, reason: string): void {
    if (!slot.alive) return;
    slot.alive = false;
    const tenant = slot.busy?.queued.job.tenant;
    if (slot.busy) this.settle(slot.busy, { kind: 'trap', message: reason, memoryBytes: 0 });
    this.replace(slot, tenant);
  }

  /** Stops a worker and starts another in its place; its boot counts as `tenant`'s use until it is ready. */
  private replace(slot: Slot<Owner>, tenant?: string): void {
    slot.alive = false;
    if (slot.busy && !slot.busy.settled) this.settle(slot.busy, { kind: 'trap', message: 'The worker running it was stopped.', memoryBytes: 0 });
    const waiting = slot.next;
    if (waiting && !waiting.settled) {
      // Run it elsewhere, unless the worker has already started it.
      const queued = this.revoke(slot);
      if (queued) this.enqueue(queued, true);
      else this.settle(waiting, { kind: 'trap', message: 'The worker running it was stopped.', memoryBytes: 0 });
    }
    slot.next = undefined;
    const index = this.slots.indexOf(slot);
    void this.stopSlot(slot);
    if (index < 0 || this.closed) return;
    this.slots[index] = this.startSlot(tenant);
    this.hooks.workerEvent?.('replaced');
    this.drain();
  }

  private async stopSlot(slot: Slot<Owner>): Promise<void> {
    for (const waiting of slot.preparing.values()) for (const resolve of waiting) resolve();
    slot.preparing.clear();
    // Its counts move to the pool's own (once), and what it held no longer counts.
    this.retired.instantiations += Atomics.exchange(slot.cells, SlotCell.instantiations, 0);
    this.retired.tenantSwitches += Atomics.exchange(slot.cells, SlotCell.tenantSwitches, 0);
    Atomics.store(slot.cells, SlotCell.instances, 0);
    Atomics.store(slot.cells, SlotCell.instanceKiB, 0);
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
    if (Atomics.compareExchange(slot.cells, SlotCell.claim, token, -token) !== token) return undefined;
    slot.next = undefined;
    return waiting.queued;
  }

  private armDeadline(slot: Slot<Owner>, running: RunningJob<Owner>, delayMs: number): void {
    clearTimeout(running.timer);
    running.timer = setTimeout(() => this.checkDeadline(slot, running), Math.max(1, Math.ceil(delayMs)));
  }

  /** The phase the worker is in (see SlotCell.phase) and since when (shared clock, ms). */
  private phaseOf(slot: Slot<Owner>): { phase: number; since: number } {
    for (;;) {
      const before = Atomics.load(slot.phaseSince, 0);
      const phase = Atomics.load(slot.cells, SlotCell.phase);
      if (Atomics.load(slot.phaseSince, 0) === before) return { phase, since: Number(before) / 1000 };
    }
  }

  /**
   * A job's deadline counts from the start of its guest call. Until then the worker is making
   * its instance ready (budget `instantiateTimeoutMs`) or finishing what came before it.
   */
  private checkDeadline(slot: Slot<Owner>, running: RunningJob<Owner>): void {
    if (running.settled || !slot.alive || slot.busy !== running) return;
    const { deadlineMs } = running.queued.job;
    const budget = this.options.instantiateTimeoutMs;
    const token = claimToken(running.jobId);
    const { phase, since } = this.phaseOf(slot);
    const now = sharedClockMs();
    if (phase === token) {
      const due = since + deadlineMs;
      if (now < due - 1) return this.armDeadline(slot, running, due - now);
      return this.expire(slot, running, { kind: 'deadline', message: `No answer within ${deadlineMs} ms.`, memoryBytes: 0 });
    }
    if (phase === -token) {
      const due = since + budget;
      if (now < due - 1) return this.armDeadline(slot, running, Math.min(due - now, deadlineMs));
      this.warmUpsStuck.add(running.queued.job.code.key);
      return this.expire(slot, running, { kind: 'start-timeout', message: `The extension could not be made ready within ${budget} ms.`, memoryBytes: 0 });
    }
    // Not started: the worker is still busy with what it was handed before (a snapshot restore, a preparation).
    const due = running.handedAt + deadlineMs + budget;
    if (now < due - 1) return this.armDeadline(slot, running, Math.min(due - now, deadlineMs));
    this.expire(slot, running, { kind: 'deadline', message: `The worker did not start it within ${Math.round(deadlineMs + budget)} ms.`, memoryBytes: 0 });
  }

  private expire(slot: Slot<Owner>, running: RunningJob<Owner>, outcome: PoolOutcome): void {
    this.settle(running, outcome);
    this.replace(slot, running.queued.job.tenant);
  }

  // ── Queues ──────────────────────────────────────────────────────────────────────────────

  private enqueue(queued: QueuedJob<Owner>, first = false): void {
    const { tenant } = queued.job;
    let queue = this.queues.get(tenant);
    if (!queue) this.queues.set(tenant, (queue = []));
    if (first) queue.unshift(queued);
    else queue.push(queued);
    this.queuedCount++;
  }

  private isQueued(queued: QueuedJob<Owner>): boolean {
    return this.queues.get(queued.job.tenant)?.includes(queued) ?? false;
  }

  private dequeue(queued: QueuedJob<Owner>): boolean {
    const queue = this.queues.get(queued.job.tenant);
    const index = queue?.indexOf(queued) ?? -1;
    if (index < 0) return false;
    queue!.splice(index, 1);
    if (queue!.length === 0) this.queues.delete(queued.job.tenant);
    this.queuedCount--;
    return true;
  }

  /** Workers each tenant uses: running or posted jobs, and replacements booting on its account. */
  private usage(): Map<string, number> {
    const used = new Map<string, number>();
    for (const slot of this.slots) {
      countTenant(used, slot.bootingFor);
      countTenant(used, slot.busy?.settled === false ? slot.busy.queued.job.tenant : undefined);
      countTenant(used, slot.next?.settled === false ? slot.next.queued.job.tenant : undefined);
    }
    return used;
  }

  private idleSlots(): Slot<Owner>[] {
    return this.slots.filter((slot) => slot.alive && slot.ready && !slot.busy);
  }

  /** A tenant using `used` workers may take one of `idle` idle workers. */
  private mayTake(used: number, idle: number): boolean {
    return used === 0 || idle > this.options.reserveWorkers;
  }

  /**
   * 4: the worker holds the job's instance; 3: a clean instance of its code (prepared ahead); 2: it
   * is the instance's home; 1: it holds the code (a tenant switch is cheaper than instantiating); 0.
   */
  private affinity(slot: Slot<Owner>, queued: QueuedJob<Owner>): number {
    if (slot.holdings.has(queued.job.instanceKey)) return 4;
    if (queued.job.policy === 'tenant' && slot.holdings.has(`clean|${queued.job.code.key}`)) return 3;
    if (this.slots[queued.home % this.slots.length] === slot) return 2;
    return slot.holdings.has(`code|${queued.job.code.key}`) ? 1 : 0;
  }

  /**
   * The next job for one of the idle workers, and the worker: the tenants using the fewest
   * workers (or one more) first, oldest job first among them; among those, a job and worker that already
   * share the instance, or whose home (a hash of the instance key) the worker is, so every
   * worker keeps serving the same tenants and holds only their instances. A job passed over
   * `maxPassedOver` times goes first wherever its instance is.
   */
  private choose(idle: Slot<Owner>[], used: Map<string, number>): { slot: Slot<Owner>; queued: QueuedJob<Owner> } | undefined {
    let fewest = Infinity;
    for (const tenant of this.queues.keys()) {
      const count = used.get(tenant) ?? 0;
      if (this.mayTake(count, idle.length)) fewest = Math.min(fewest, count);
    }
    if (fewest === Infinity) return undefined;
    // One running job more or less does not decide: between those, the worker's instances do.
    const candidates: QueuedJob<Owner>[] = [];
    let oldest: QueuedJob<Owner> | undefined;
    for (const [tenant, queue] of this.queues) {
      const count = used.get(tenant) ?? 0;
      if (count > fewest + 1 || !this.mayTake(count, idle.length)) continue;
      candidates.push(queue[0]);
      if (count === fewest && (!oldest || queue[0].seq < oldest.seq)) oldest = queue[0];
    }
    candidates.sort((a, b) => a.seq - b.seq);
    const window = oldest!.passedOver >= maxPassedOver ? [oldest!] : candidates.slice(0, affinityWindow);
    let best: { slot: Slot<Owner>; queued: QueuedJob<Owner>; score: number } | undefined;
    for (const queued of window) {
      for (const slot of idle) {
        const score = this.affinity(slot, queued);
        if (!best || score > best.score) best = { slot, queued, score };
      }
      if (best?.score === 4) break;
    }
    if (best!.score >= 2) {
      for (const older of window) {
        if (older === best!.queued) break;
        older.passedOver++;
      }
      return best;
    }
    // The oldest, on a worker holding its code (a tenant switch is cheaper than an instantiation), else the emptiest.
    const withCode = idle.find((slot) => this.affinity(slot, oldest!) === 1);
    const slot = withCode ?? idle.reduce((least, slot) => (Atomics.load(slot.cells, SlotCell.instances) < Atomics.load(least.cells, SlotCell.instances) ? slot : least));
    return { slot, queued: oldest! };
  }

  /**
   * A busy worker holding `job`'s instance with nothing posted behind its job yet, and whose
   * claim cell holds no token the worker has still to claim (the job it runs may itself have
   * been posted behind: the cell is free again once the worker has taken it).
   */
  private holderFor(job: PoolJob): Slot<Owner> | undefined {
    if (job.request.body.byteLength > maxBodyBehind) return undefined;
    return this.slots.find((slot) => slot.alive && slot.busy && !slot.next && slot.holdings.has(job.instanceKey) && Atomics.load(slot.cells, SlotCell.claim) <= 0);
  }

  private drain(): void {
    if (this.closed) return;
    while (this.queuedCount > 0) {
      const idle = this.idleSlots();
      const used = this.usage();
      const chosen = idle.length > 0 ? this.choose(idle, used) : undefined;
      if (chosen) {
        this.dequeue(chosen.queued);
        this.dispatch(chosen.slot, chosen.queued, false);
        continue;
      }
      // No idle worker it may take: a tenant waiting alone goes straight on behind its own running job.
      if (this.queues.size !== 1) break;
      const [queued] = this.queues.values().next().value!;
      const holder = this.holderFor(queued.job);
      if (!holder) break;
      this.dequeue(queued);
      this.dispatch(holder, queued, true);
    }
    // Nothing left to queue for: an idle worker takes over a job waiting behind a running one (which may be slow).
    if (this.queuedCount > 0) return;
    for (;;) {
      const idle = this.idleSlots();
      if (idle.length === 0) return;
      const holder = this.slots.find((slot) => slot.alive && slot.next && !slot.next.settled);
      if (!holder) return;
      const used = (this.usage().get(holder.next!.queued.job.tenant) ?? 1) - 1;
      if (!this.mayTake(used, idle.length)) return;
      const queued = this.revoke(holder);
      if (!queued) return;
      this.dispatch(idle[0], queued, false);
    }
  }

  private dispatch(slot: Slot<Owner>, queued: QueuedJob<Owner>, behind: boolean): void {
    const { job, owner } = queued;
    clearTimeout(queued.queueTimer);
    const jobId = this.nextJobId++;
    const running: RunningJob<Owner> = { jobId, owner, queued, settled: false, handedAt: sharedClockMs() };
    if (behind) {
      slot.next = running;
      Atomics.store(slot.cells, SlotCell.claim, claimToken(jobId));
    } else {
      slot.busy = running;
      this.armDeadline(slot, running, job.deadlineMs);
    }
    const { maxQueueWaitMs: _queueWait, tenant: _tenant, code, ...rest } = job;
    const known = slot.codeKeys.has(code.key);
    slot.codeKeys.add(code.key);
    const sent = this.sendable(code, known);
    // The body is the pool's to give away: move it instead of copying it.
    const body = rest.request.body;
    const movable = !behind && body.byteOffset === 0 && body.byteLength === body.buffer.byteLength && body.byteLength > 0 && !(body.buffer instanceof SharedArrayBuffer);
    slot.worker.postMessage({ type: 'execute', jobId, claim: behind, code: sent, ...rest } satisfies ExecuteMessage, movable ? [body.buffer as ArrayBuffer] : []);
  }
}

/** A module function, not a closure made per call (tsx's keepNames turns each of those into a defineProperty). */
function countTenant(used: Map<string, number>, tenant: string | undefined): void {
  if (tenant !== undefined) used.set(tenant, (used.get(tenant) ?? 0) + 1);
}
