import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { createHash } from 'node:crypto';
import { withDirectHostImports } from './direct-host-imports.ts';
import { guestWasiImports, withDirectWasiFunctions } from './guest-environment.ts';
import { globalExportPrefix } from '../loading/global-exports.ts';
import { WorkerStorageReads } from '../storage/worker-reads.ts';
import { restoreSnapshot as restoreMemory, takeSnapshot as snapshotOf, type Snapshot } from './memory-snapshot.ts';
import {
  claimToken, preparingPhase, sharedClockMs, SlotCell, slotViews,
  type ExecuteMessage, type ForgetMessage, type GuestCode, type GuestResponse, type HoldingChanges, type HostCallMessage, type HostCallReply, type PrepareMessage, type WorkerMessage,
} from './protocol.ts';

/**
 * One guest worker: keeps instances, runs one execution at a time, and turns every
 * `alga:extension/*` import into a synchronous call to the main thread (Atomics.wait on a
 * shared cell, reply read with receiveMessageOnPort).
 *
 * Instances under the `tenant` policy belong to one tenant's install at a time. When a tenant
 * has none here and no more fit (instance count or memory budget), an instance of the same code
 * is reset to the code's start state (memory and mutable globals: the state after the warm-up
 * calls, which every instance of the code starts from) and handed over: no tenant ever sees
 * state another left, and a switch costs a memory copy instead of an instantiation.
 */

interface GuestExports {
  handler: { handle(context: unknown, request: unknown): GuestResponse };
}

interface GuestInstance {
  exports: GuestExports;
  memory: WebAssembly.Memory;
  /** Mutable globals of the core modules (exported by the loader). */
  globals: WebAssembly.Global[];
  codeKey: string;
  /**
   * `tenant` policy: the code's start state (see StartState), shared by its instances; without
   * it the instance is never handed to another tenant. `request` policy: the instance's own
   * state after warm-up, copied back after each request.
   */
  snapshot?: Snapshot;
  /** The instance key it serves; a clean instance (reset, any tenant may take it) has none. */
  owner?: string;
  requests: number;
  /** Requests since it last changed hands, halved now and then (see victimOf). */
  uses: number;
  createdAt: number;
}

export interface WorkerLimits {
  /** Instances one worker keeps (all codes, owned and clean). */
  maxInstances: number;
  /** Linear memory of those instances plus their snapshots, in bytes. */
  instanceMemoryBytes: number;
}

const { hostPort, signal, limits } = workerData as { hostPort: MessagePort; signal: SharedArrayBuffer; limits: WorkerLimits };
const { cells, phaseSince } = slotViews(signal);
/** Owned instances by instance key, least recently used first. */
const owned = new Map<string, GuestInstance>();
/** Clean `tenant` policy instances by code key. */
const clean = new Map<string, GuestInstance[]>();
/**
 * Where every `tenant` policy instance of a code starts, and is reset to when it changes hands:
 * the state after the warm-up calls, taken from the instance that made it. Only linear memory and
 * globals are in a snapshot, not jco's resource tables, and the warm-up may leave handles in
 * memory (the WASI adapter keeps its stdio streams there once it has asked for them). So another
 * instance gets that state only when it was born in the same state (memory digest and globals)
 * and its own warm-up made the same calls through jco's glue, in the same order: its tables then
 * hold the same handles under the same numbers.
 */
interface StartState {
  birth: Birth;
  /** The glue calls the warm-up made, in order; undefined when the code is not warmed up (its warm-up trapped). */
  warmUpCalls: string | undefined;
  snapshot: Snapshot;
}

interface Birth {
  memoryDigest: string;
  globalValues: unknown[];
}

/** Start states by code key (made once a worker holds a second instance of the code, or prepares one). */
const startStates = new Map<string, StartState>();
/** Instances held per code key (owned and clean), for the `code|…` holdings. */
const perCode = new Map<string, number>();
const changes = new Map<string, boolean>();
const decoder = new TextDecoder();
const glueModules = new Map<string, Promise<{ instantiate: Function }>>();
const compiledByKey = new Map<string, Record<string, WebAssembly.Module>>();
/** Above this share of its cap, an instance is dropped after answering (componentize-js guests do not give memory back). */
const memoryHighWater = 0.6;
/** How long past its deadline a guest call may still wait for a host answer (the main thread stops the worker before). */
const hostAnswerGraceMs = 1000;

// jco's glue reads process.env on every call (JCO_DEBUG); a plain object makes that cheap.
process.env = { ...process.env };

let currentJob: ExecuteMessage | undefined;
/** When the current guest call must have its host answers by (shared clock, ms). */
let hostAnswersUntil = 0;
let nextCallId = 1;
let warmingUp = false;
/** The calls the guest makes through jco's glue while warming up (the direct WASI functions keep no state and are not seen here). */
const glueCallsWhileWarming: string[] = [];
let stdioBytes = 0;
/** SpiderMonkey prints "out of memory" before it aborts when the capped memory cannot grow. */
let sawOutOfMemory = false;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

/** Takes the holdings changed since the last message (undefined when none). */
function takeChanges(): HoldingChanges | undefined {
  if (changes.size === 0) return undefined;
  const taken = [...changes];
  changes.clear();
  return taken;
}

/** `token` while a job's guest call runs, `-token` while its instance is made ready, 0 otherwise. */
function setPhase(value: number): void {
  if (value !== 0) Atomics.store(phaseSince, 0, BigInt(Math.round(sharedClockMs() * 1000)));
  Atomics.store(cells, SlotCell.phase, value);
}

function unavailable(val: string): { payload: { tag: string; val: string } } {
  return { payload: { tag: 'unavailable', val } };
}

/** Granted storage reads are answered here, without a round trip to the main thread. */
const storageReads = new WorkerStorageReads();

/**
 * A host call: a granted storage read is answered here; anything else is a synchronous call to
 * the main thread. That always answers (`unavailable` when the job is no longer its to serve);
 * should it not, the wait still ends a little after the call's deadline.
 */
function hostCall(iface: string, fn: string, args: unknown[]): unknown {
  if (warmingUp) glueCallsWhileWarming.push(`${iface}.${fn}`);
  if (warmingUp || !currentJob) throw unavailable('Host calls are not available while the extension warms up.');
  const servedHere = storageReads.serve(currentJob.storageReads, currentJob.context, iface, fn, args);
  if (servedHere) return servedHere.value;
  const callId = nextCallId++;
  hostPort.postMessage({ jobId: currentJob.jobId, callId, iface, fn, args } satisfies HostCallMessage);
  for (;;) {
    const seen = Atomics.load(cells, SlotCell.hostReply);
    for (let received = receiveMessageOnPort(hostPort); received; received = receiveMessageOnPort(hostPort)) {
      const reply = received.message as HostCallReply;
      if (reply.callId !== callId) continue; // the late answer to a call given up on
      if ('error' in reply) throw { payload: reply.error };
      return reply.value;
    }
    const left = hostAnswersUntil - sharedClockMs();
    if (left <= 0 || Atomics.wait(cells, SlotCell.hostReply, seen, left) === 'timed-out') throw unavailable('The host did not answer in time.');
  }
}

function algaInterface(iface: string): Record<string, unknown> {
  return new Proxy({}, { get: (_target, fn) => (typeof fn === 'string' ? (...args: unknown[]) => hostCall(iface, fn, args) : undefined) });
}

function captureStdio(stream: 'stdout' | 'stderr', bytes: Uint8Array): void {
  if (!currentJob || warmingUp) return;
  if (stream === 'stderr' && !sawOutOfMemory && /out of memory/i.test(decoder.decode(bytes.subarray(0, 200)))) sawOutOfMemory = true;
  const room = currentJob.maxStdioBytes - stdioBytes;
  if (room <= 0) return;
  const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
  stdioBytes += kept.length;
  post({ type: 'stdio', jobId: currentJob.jobId, stream, text: decoder.decode(kept), truncated: kept.length < bytes.length });
}

const wasiImports = notingWarmUpCalls(guestWasiImports(captureStdio));

/** The WASI functions, each noting the calls made while warming up; resource classes are left as they are (jco checks them with `instanceof`). */
function notingWarmUpCalls(interfaces: Record<string, Record<string, unknown>>): Record<string, Record<string, unknown>> {
  const noted = (name: string, fn: (...args: unknown[]) => unknown) =>
    function (this: unknown, ...args: unknown[]) {
      if (warmingUp) glueCallsWhileWarming.push(name);
      return fn.apply(this, args);
    };
  const isClass = (value: Function) => /^class\b/.test(Function.prototype.toString.call(value));
  return Object.fromEntries(
    Object.entries(interfaces).map(([name, members]) => [
      name,
      Object.fromEntries(Object.entries(members).map(([key, value]) => [key, typeof value === 'function' && !isClass(value) ? noted(`${name}.${key}`, value as (...args: unknown[]) => unknown) : value])),
    ]),
  );
}

function loadGlue(modulePath: string): Promise<{ instantiate: Function }> {
  let glue = glueModules.get(modulePath);
  if (!glue) {
    glue = import(pathToFileURL(modulePath).href) as Promise<{ instantiate: Function }>;
    glueModules.set(modulePath, glue);
    glue.catch(() => glueModules.delete(modulePath)); // a failure shows on the first execute, and the next one tries again
  }
  return glue;
}

interface Instantiated {
  exports: GuestExports;
  memory: WebAssembly.Memory;
  globals: WebAssembly.Global[];
}

async function instantiateCode(code: Pick<GuestCode, 'key' | 'modulePath'>): Promise<Instantiated> {
  const { instantiate: instantiateComponent } = await loadGlue(code.modulePath);
  const modules = compiledByKey.get(code.key);
  if (!modules) throw new Error(`The compiled code ${code.key} is not in this worker.`);
  const memories: WebAssembly.Memory[] = [];
  const globals: WebAssembly.Global[] = [];
  const imports: Record<string, unknown> = { ...wasiImports };
  for (const iface of ['storage', 'http', 'secrets', 'logging', 'metrics', 'ui-proxy']) imports[`alga:extension/${iface}`] = algaInterface(iface);
  const exports = (await instantiateComponent(
    (name: string) => modules[name],
    imports,
    async (module: WebAssembly.Module, coreImports: WebAssembly.Imports) => {
      const host = withDirectHostImports(module, coreImports, hostCall);
      const instance = await WebAssembly.instantiate(module, withDirectWasiFunctions(host.imports));
      host.attach(instance);
      for (const [name, value] of Object.entries(instance.exports)) {
        if (value instanceof WebAssembly.Memory) memories.push(value);
        else if (value instanceof WebAssembly.Global && name.startsWith(globalExportPrefix)) globals.push(value);
      }
      return instance;
    },
  )) as GuestExports;
  const memory = memories.sort((a, b) => b.buffer.byteLength - a.buffer.byteLength)[0];
  return { exports, memory, globals };
}

function takeSnapshot({ memory, globals }: Instantiated): Snapshot {
  return snapshotOf(memory, globals);
}

function restoreSnapshot(instance: GuestInstance): void {
  restoreMemory(instance.snapshot!, instance.memory, instance.globals);
}

function memoryDigest(memory: Uint8Array): string {
  return createHash('sha256').update(memory).digest('base64');
}

function birthOf(made: Instantiated): Birth {
  return { memoryDigest: memoryDigest(new Uint8Array(made.memory.buffer)), globalValues: made.globals.map((global) => global.value) };
}

function sameBirth(a: Birth, b: Birth): boolean {
  return a.memoryDigest === b.memoryDigest && a.globalValues.length === b.globalValues.length && a.globalValues.every((value, index) => Object.is(value, b.globalValues[index]));
}

/**
 * A new `tenant` policy instance of `code`, warmed up, with the snapshot it is reset to: the
 * code's start state, which it makes when there is none yet and `keep` says to keep one (the
 * second instance of a code in this worker, or a prepared one; a first one keeps none, as one
 * tenant needs none). Without a snapshot when it keeps none, or cannot take the code's (born
 * otherwise, or its warm-up went otherwise): it is then never handed to another tenant.
 */
async function instantiateForTenants(code: GuestCode, keep: boolean): Promise<GuestInstance> {
  const made = await instantiateCode(code);
  const start = startStates.get(code.key);
  if (!start && !keep) {
    if (warmUp(made, code.warmUpPaths) !== undefined) return adopt(made, code.key, undefined);
    return adopt(await instantiateCode(code), code.key, undefined); // the warm-up trapped: a new instance, at birth
  }
  const birth = birthOf(made);
  if (start && !sameBirth(birth, start.birth)) return adopt(made, code.key, undefined);
  if (start && start.warmUpCalls === undefined) return adopt(made, code.key, start.snapshot);
  const calls = warmUp(made, code.warmUpPaths);
  if (calls === undefined) {
    // The warm-up trapped: a new instance, at birth; when it makes the start state, the code is not warmed up.
    const again = await instantiateCode(code);
    if (start || !sameBirth(birthOf(again), birth)) return adopt(again, code.key, undefined);
    const state: StartState = { birth, warmUpCalls: undefined, snapshot: takeSnapshot(again) };
    startStates.set(code.key, state);
    return adopt(again, code.key, state.snapshot);
  }
  if (start) {
    if (calls !== start.warmUpCalls) return adopt(made, code.key, undefined);
    restoreMemory(start.snapshot, made.memory, made.globals);
    return adopt(made, code.key, start.snapshot);
  }
  const state: StartState = { birth, warmUpCalls: calls, snapshot: takeSnapshot(made) };
  startStates.set(code.key, state);
  return adopt(made, code.key, state.snapshot);
}

const warmUpContext = { tenantId: '', extensionId: '', installId: '', requestId: 'warm-up', version: '', contentHash: '', config: [] };

/**
 * Calls each warm-up path once, host calls refused and output dropped. Gives the calls the guest
 * made through jco's glue meanwhile, in order, or undefined when it trapped (`made` is then unusable).
 */
function warmUp(made: Instantiated, paths: string[]): string | undefined {
  warmingUp = true;
  glueCallsWhileWarming.length = 0;
  try {
    for (const path of paths) made.exports.handler.handle(warmUpContext, { method: 'GET', path, query: '', headers: [], body: new Uint8Array() });
    return glueCallsWhileWarming.join(' ');
  } catch {
    return undefined;
  } finally {
    warmingUp = false;
    glueCallsWhileWarming.length = 0;
  }
}

/**
 * A `request` policy instance whose snapshot is taken after a call to each warm-up path (host
 * calls refused, so nothing leaves the guest), so lazily compiled code is already in it.
 */
async function instantiateWarm(job: ExecuteMessage): Promise<GuestInstance> {
  let made = await instantiateCode(job.code);
  if (warmUp(made, job.code.warmUpPaths) === undefined) made = await instantiateCode(job.code); // a guest that fails on an unknown path gets a snapshot from before any call
  return adopt(made, job.code.key, takeSnapshot(made));
}

function adopt(made: Instantiated, codeKey: string, snapshot: Snapshot | undefined): GuestInstance {
  Atomics.add(cells, SlotCell.instantiations, 1);
  const count = (perCode.get(codeKey) ?? 0) + 1;
  perCode.set(codeKey, count);
  if (count === 1) changes.set(`code|${codeKey}`, true);
  return { ...made, codeKey, snapshot, requests: 0, uses: 0, createdAt: Date.now() };
}

/** Clean instances of a code; `clean|<codeKey>` is held while there is at least one. */
function addClean(instance: GuestInstance): void {
  const spare = clean.get(instance.codeKey) ?? [];
  spare.push(instance);
  clean.set(instance.codeKey, spare);
  if (spare.length === 1) changes.set(`clean|${instance.codeKey}`, true);
}

function takeClean(codeKey: string): GuestInstance | undefined {
  const spare = clean.get(codeKey);
  const instance = spare?.shift();
  if (instance && spare!.length === 0) {
    clean.delete(codeKey);
    changes.set(`clean|${codeKey}`, false);
  }
  return instance;
}

function own(instance: GuestInstance, key: string): void {
  instance.owner = key;
  owned.set(key, instance);
  changes.set(key, true);
}

function disown(instance: GuestInstance): void {
  if (instance.owner === undefined) return;
  owned.delete(instance.owner);
  changes.set(instance.owner, false);
  instance.owner = undefined;
}

/** Forgets an instance (owned or clean). */
function drop(instance: GuestInstance): void {
  disown(instance);
  const spare = clean.get(instance.codeKey);
  const index = spare?.indexOf(instance) ?? -1;
  if (index >= 0) {
    spare!.splice(index, 1);
    if (spare!.length === 0) {
      clean.delete(instance.codeKey);
      changes.set(`clean|${instance.codeKey}`, false);
    }
  }
  const count = (perCode.get(instance.codeKey) ?? 1) - 1;
  if (count > 0) perCode.set(instance.codeKey, count);
  else {
    perCode.delete(instance.codeKey);
    changes.set(`code|${instance.codeKey}`, false);
    startStates.delete(instance.codeKey);
  }
}

function* allInstances(): Generator<GuestInstance> {
  yield* owned.values();
  for (const spare of clean.values()) yield* spare;
}

/** Linear memory of every instance plus every snapshot (shared ones once). */
function heldBytes(): number {
  let bytes = 0;
  const snapshots = new Set<Snapshot>();
  for (const instance of allInstances()) {
    bytes += instance.memory.buffer.byteLength;
    if (instance.snapshot) snapshots.add(instance.snapshot);
  }
  for (const { snapshot } of startStates.values()) snapshots.add(snapshot);
  for (const snapshot of snapshots) bytes += snapshot.memory.byteLength;
  return bytes;
}

function report(): void {
  let count = owned.size;
  for (const spare of clean.values()) count += spare.length;
  Atomics.store(cells, SlotCell.instances, count);
  Atomics.store(cells, SlotCell.instanceKiB, Math.ceil(heldBytes() / 1024));
}

/** Room for one more instance of `codeKey` (and its start snapshot, if it has none yet). */
function hasRoom(codeKey: string): boolean {
  const count = Atomics.load(cells, SlotCell.instances);
  if (count === 0) return true;
  let expected = 0;
  for (const instance of allInstances()) if (instance.codeKey === codeKey) expected = Math.max(expected, instance.memory.buffer.byteLength);
  if (expected > 0 && !startStates.has(codeKey)) expected *= 2;
  return count < limits.maxInstances && heldBytes() + expected <= limits.instanceMemoryBytes;
}

/** Drops clean instances first, then the least recently used owned ones, until `codeKey` has room. */
function makeRoom(codeKey: string): void {
  for (const spare of clean.values()) while (spare.length > 0 && !hasRoomAfterReport(codeKey)) drop(spare[0]);
  for (const instance of owned.values()) {
    if (hasRoomAfterReport(codeKey)) break;
    drop(instance);
  }
  report();
}

function hasRoomAfterReport(codeKey: string): boolean {
  report();
  return hasRoom(codeKey);
}

/** Hand-overs since the uses were last halved, by code key. */
const switchesSinceDecay = new Map<string, number>();

/**
 * The instance of this code to reset for another tenant: the one used least since it changed
 * hands (uses halved every `maxInstances` hand-overs, so past use fades), the most recently used
 * among equals. Instances in steady use stay; a tenant that comes once takes the place of the
 * last such tenant. Least recently used would be the worst choice when tenants take turns (every
 * instance gone just before its tenant's next call); this keeps a stable share of them resident.
 */
function victimOf(codeKey: string): GuestInstance | undefined {
  let victim: GuestInstance | undefined;
  for (const instance of owned.values()) {
    if (instance.codeKey !== codeKey || !instance.snapshot || !instance.owner?.startsWith('tenant|')) continue;
    if (!victim || instance.uses <= victim.uses) victim = instance; // owned is least recently used first: ties go to the later
  }
  const count = (switchesSinceDecay.get(codeKey) ?? 0) + 1;
  if (count < limits.maxInstances) switchesSinceDecay.set(codeKey, count);
  else {
    switchesSinceDecay.set(codeKey, 0);
    for (const instance of owned.values()) if (instance.codeKey === codeKey) instance.uses >>= 1;
  }
  return victim;
}

/** The instance that serves `job`, made ready: its own, a clean one, a new one, or another tenant's reset. */
async function acquire(job: ExecuteMessage): Promise<{ instance: GuestInstance; fresh: boolean }> {
  const mine = owned.get(job.instanceKey);
  if (mine) {
    if (mine.requests < job.recycleAfterRequests && Date.now() - mine.createdAt < job.recycleAfterMs) {
      owned.delete(job.instanceKey); // most recently used last
      owned.set(job.instanceKey, mine);
      return { instance: mine, fresh: false };
    }
    drop(mine);
  }
  if (job.policy === 'request') {
    if (!hasRoomAfterReport(job.code.key)) makeRoom(job.code.key);
    const instance = await instantiateWarm(job);
    own(instance, job.instanceKey);
    return { instance, fresh: true };
  }
  const spare = takeClean(job.code.key);
  if (spare) {
    own(spare, job.instanceKey);
    return { instance: spare, fresh: true };
  }
  if (!hasRoomAfterReport(job.code.key)) {
    const other = victimOf(job.code.key);
    if (other) {
      disown(other);
      restoreSnapshot(other); // its age and request count stay: recycling bounds what the glue accumulates
      other.uses = 0;
      Atomics.add(cells, SlotCell.tenantSwitches, 1);
      own(other, job.instanceKey);
      return { instance: other, fresh: true };
    }
    makeRoom(job.code.key);
  }
  const instance = await instantiateForTenants(job.code, perCode.has(job.code.key));
  own(instance, job.instanceKey);
  return { instance, fresh: true };
}

function classify(error: unknown, instance: GuestInstance | undefined, job: ExecuteMessage): { kind: 'trap' | 'memory' | 'load'; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (!instance) return { kind: 'load', message };
  const margin = Math.max(8 * 1048576, job.code.memoryLimitBytes / 8);
  const nearCap = instance.memory.buffer.byteLength + margin >= job.code.memoryLimitBytes;
  if (sawOutOfMemory || nearCap || /out of memory|allocation failed/i.test(message)) {
    return { kind: 'memory', message: `${message} (memory ${Math.round(instance.memory.buffer.byteLength / 1048576)} MB of ${Math.round(job.code.memoryLimitBytes / 1048576)} MB)` };
  }
  return { kind: 'trap', message };
}

function validResponse(value: unknown): value is GuestResponse {
  const response = value as GuestResponse;
  return !!response && Number.isInteger(response.status) && response.status >= 100 && response.status <= 599 && response.body instanceof Uint8Array && Array.isArray(response.headers);
}

/** Runs one job; true when the worker already told the main thread it is idle. */
async function execute(job: ExecuteMessage): Promise<boolean> {
  const token = claimToken(job.jobId);
  let instance: GuestInstance | undefined;
  stdioBytes = 0;
  sawOutOfMemory = false;
  try {
    setPhase(-token); // making the instance ready: the main thread does not count it against the deadline
    const acquired = await acquire(job);
    instance = acquired.instance;
    instance.requests++;
    instance.uses++;
    currentJob = job;
    setPhase(token);
    hostAnswersUntil = sharedClockMs() + job.deadlineMs + hostAnswerGraceMs;
    const response = instance.exports.handler.handle(job.context, job.request);
    setPhase(0);
    currentJob = undefined;
    const memoryBytes = instance.memory.buffer.byteLength;
    if (!validResponse(response)) {
      drop(instance);
      report();
      post({ type: 'failure', jobId: job.jobId, kind: 'invalid-response', message: 'The handler did not return a status, headers and a byte body.', memoryBytes, changes: takeChanges(), servedInWorker: storageReads.take() });
      return false;
    }
    const body = response.body.byteOffset === 0 && response.body.byteLength === response.body.buffer.byteLength ? response.body : response.body.slice();
    const restoreAfter = job.policy === 'request';
    if (!restoreAfter && memoryBytes > job.code.memoryLimitBytes * memoryHighWater) drop(instance);
    if (!restoreAfter) report();
    post(
      { type: 'result', jobId: job.jobId, response: { status: response.status, headers: response.headers, body }, memoryBytes, freshInstance: acquired.fresh, idle: !restoreAfter, changes: takeChanges(), servedInWorker: storageReads.take() },
      [body.buffer as ArrayBuffer],
    );
    if (!restoreAfter) return true;
    restoreSnapshot(instance); // after the answer left: off the latency path
    report();
  } catch (error) {
    setPhase(0);
    currentJob = undefined;
    const { kind, message } = classify(error, instance, job);
    if (instance) drop(instance);
    report();
    post({ type: 'failure', jobId: job.jobId, kind, message, memoryBytes: instance?.memory.buffer.byteLength ?? 0, changes: takeChanges(), servedInWorker: storageReads.take() });
  }
  return false;
}

function forget(codeKey: string): void {
  compiledByKey.delete(codeKey);
  for (const instance of [...allInstances()]) if (instance.codeKey === codeKey) drop(instance);
  startStates.delete(codeKey);
  report();
  const taken = takeChanges();
  if (taken) post({ type: 'holding', changes: taken });
}

function keep(code: GuestCode): void {
  if (code.modules) compiledByKey.set(code.key, code.modules);
}

/**
 * Loads the glue ahead of requests; with `instantiate`, also readies a clean instance (when the
 * worker holds none of the code yet). The main thread counts on that instance from the moment
 * it asks, so when there is none after all it is told.
 */
async function prepare(message: PrepareMessage): Promise<void> {
  const { code } = message;
  keep(code);
  try {
    await loadGlue(code.modulePath);
    if (message.instantiate && !perCode.has(code.key) && hasRoomAfterReport(code.key)) {
      setPhase(preparingPhase); // the main thread replaces a worker stuck here
      // Warmed up, so V8 has compiled (lazily, function by function) what a first request runs.
      addClean(await instantiateForTenants(code, true));
    }
  } catch {
    // A failure shows on the first execute.
  } finally {
    setPhase(0);
  }
  report();
  if (!message.instantiate) return;
  if (!clean.has(code.key)) changes.set(`clean|${code.key}`, false);
  post({ type: 'prepared', codeKey: code.key, changes: takeChanges() });
}

/**
 * A job may be posted while the previous one still runs. If the main thread gives up on this
 * worker first it revokes such a job (to run it elsewhere), so the job runs here only if this
 * claim finds exactly its own token: a revoked job (its token negated, or replaced by the token
 * of a job posted behind later) never runs.
 */
function claimJob(job: ExecuteMessage): boolean {
  if (!job.claim) return true;
  const token = claimToken(job.jobId);
  return Atomics.compareExchange(cells, SlotCell.claim, token, 0) === token;
}

/** Jobs and preparations run one after the other, also when one arrives while another awaits an instance. */
let jobs: Promise<void> = Promise.resolve();

async function run(job: ExecuteMessage): Promise<void> {
  keep(job.code); // also from a revoked job: the main thread counts its modules as sent
  if (!claimJob(job)) return;
  if (!(await execute(job))) post({ type: 'idle', jobId: job.jobId, changes: takeChanges() });
}

parentPort!.on('message', (message: ExecuteMessage | ForgetMessage | PrepareMessage) => {
  if (message.type === 'forget') jobs = jobs.then(() => forget(message.codeKey));
  else if (message.type === 'prepare') jobs = jobs.then(() => prepare(message));
  else if (message.type === 'execute') jobs = jobs.then(() => run(message));
});
post({ type: 'ready' });
