import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { guestWasiImports, withDirectWasiFunctions } from './guest-environment.ts';
import { globalExportPrefix } from '../loading/global-exports.ts';
import { WorkerStorageReads } from '../storage/worker-reads.ts';
import { claimToken, type ExecuteMessage, type ForgetMessage, type GuestCode, type GuestResponse, type HostCallMessage, type HostCallReply, type PrepareMessage, type WorkerMessage } from './protocol.ts';

/**
 * One guest worker: keeps instances by key, runs one execution at a time, and turns every
 * `alga:extension/*` import into a synchronous call to the main thread (Atomics.wait on a
 * shared cell, reply read with receiveMessageOnPort).
 */

interface GuestExports {
  handler: { handle(context: unknown, request: unknown): GuestResponse };
}

interface GuestInstance {
  exports: GuestExports;
  memory: WebAssembly.Memory;
  /** Linear memory right after warm-up; copied back after each request under `request` policy. */
  snapshot?: Uint8Array;
  /** Mutable globals of the core modules (exported by the loader) and their values at the snapshot. */
  globals: WebAssembly.Global[];
  globalValues?: unknown[];
  requests: number;
  createdAt: number;
}

const { hostPort, signal } = workerData as { hostPort: MessagePort; signal: SharedArrayBuffer };
/** [0]: host-call answer ready; [1]: claim of a job queued behind another (see claimJob). */
const cell = new Int32Array(signal);
const instances = new Map<string, GuestInstance>();
const maxInstancesPerWorker = 16;
const decoder = new TextDecoder();
const glueModules = new Map<string, Promise<{ instantiate: Function }>>();
const compiledByKey = new Map<string, Record<string, WebAssembly.Module>>();
/** Above this share of its cap, an instance is replaced after answering (componentize-js guests do not give memory back). */
const memoryHighWater = 0.6;

// jco's glue reads process.env on every call (JCO_DEBUG); a plain object makes that cheap.
process.env = { ...process.env };

let currentJob: ExecuteMessage | undefined;
let warmingUp = false;
let stdioBytes = 0;
/** SpiderMonkey prints "out of memory" before it aborts when the capped memory cannot grow. */
let sawOutOfMemory = false;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  parentPort!.postMessage(message, transfer);
}

/** Granted storage reads are answered here, without a round trip to the main thread. */
const storageReads = new WorkerStorageReads();

function hostCall(iface: string, fn: string, args: unknown[]): unknown {
  if (warmingUp || !currentJob) throw { payload: { tag: 'unavailable', val: 'Host calls are not available while the extension warms up.' } };
  const servedHere = storageReads.serve(currentJob.storageReads, currentJob.context, iface, fn, args);
  if (servedHere) return servedHere.value;
  Atomics.store(cell, 0, 0);
  hostPort.postMessage({ jobId: currentJob.jobId, iface, fn, args } satisfies HostCallMessage);
  Atomics.wait(cell, 0, 0);
  const reply = receiveMessageOnPort(hostPort)?.message as HostCallReply | undefined;
  if (!reply) throw { payload: { tag: 'unavailable', val: 'The host did not answer.' } };
  if ('error' in reply) throw { payload: reply.error };
  return reply.value;
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

const wasiImports = guestWasiImports(captureStdio);

function loadGlue(modulePath: string): Promise<{ instantiate: Function }> {
  let glue = glueModules.get(modulePath);
  if (!glue) {
    glue = import(pathToFileURL(modulePath).href) as Promise<{ instantiate: Function }>;
    glueModules.set(modulePath, glue);
  }
  return glue;
}

async function instantiate(job: ExecuteMessage): Promise<GuestInstance> {
  const { instantiate: instantiateComponent } = await loadGlue(job.code.modulePath);
  const memories: WebAssembly.Memory[] = [];
  const globals: WebAssembly.Global[] = [];
  const imports: Record<string, unknown> = { ...wasiImports };
  for (const iface of ['storage', 'http', 'secrets', 'logging', 'metrics', 'ui-proxy']) imports[`alga:extension/${iface}`] = algaInterface(iface);
  const exports = (await instantiateComponent(
    (name: string) => compiledByKey.get(job.code.key)![name],
    imports,
    async (module: WebAssembly.Module, coreImports: WebAssembly.Imports) => {
      const instance = await WebAssembly.instantiate(module, withDirectWasiFunctions(coreImports));
      for (const [name, value] of Object.entries(instance.exports)) {
        if (value instanceof WebAssembly.Memory) memories.push(value);
        else if (value instanceof WebAssembly.Global && name.startsWith(globalExportPrefix)) globals.push(value);
      }
      return instance;
    },
  )) as GuestExports;
  const memory = memories.sort((a, b) => b.buffer.byteLength - a.buffer.byteLength)[0];
  return { exports, memory, globals, requests: 0, createdAt: Date.now() };
}

const warmUpContext = { tenantId: '', extensionId: '', installId: '', requestId: 'warm-up', version: '', contentHash: '', config: [] };

/**
 * A fresh instance whose memory snapshot is taken after a call to each warm-up path (host calls
 * refused, so nothing leaves the guest), so lazily compiled code is already in the snapshot.
 */
async function instantiateWarm(job: ExecuteMessage): Promise<GuestInstance> {
  let instance = await instantiate(job);
  warmingUp = true;
  try {
    for (const path of job.warmUpPaths) instance.exports.handler.handle(warmUpContext, { method: 'GET', path, query: '', headers: [], body: new Uint8Array() });
  } catch {
    instance = await instantiate(job); // a guest that fails on an unknown path gets a snapshot from before any call
  } finally {
    warmingUp = false;
  }
  instance.snapshot = new Uint8Array(instance.memory.buffer).slice();
  instance.globalValues = instance.globals.map((global) => global.value);
  return instance;
}

function restoreSnapshot(instance: GuestInstance): void {
  const memory = new Uint8Array(instance.memory.buffer);
  memory.set(instance.snapshot!);
  if (memory.length > instance.snapshot!.length) memory.fill(0, instance.snapshot!.length);
  instance.globals.forEach((global, index) => (global.value = instance.globalValues![index]));
}

function evictOldest(): void {
  while (instances.size >= maxInstancesPerWorker) instances.delete(instances.keys().next().value!);
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
  if (job.code.modules) compiledByKey.set(job.code.key, job.code.modules);
  let instance = instances.get(job.instanceKey);
  let fresh = false;
  stdioBytes = 0;
  sawOutOfMemory = false;
  try {
    if (instance && (instance.requests >= job.recycleAfterRequests || Date.now() - instance.createdAt >= job.recycleAfterMs)) {
      instances.delete(job.instanceKey);
      instance = undefined;
    }
    if (!instance) {
      evictOldest();
      instance = job.policy === 'request' ? await instantiateWarm(job) : await instantiate(job);
      fresh = true;
      instances.set(job.instanceKey, instance);
    }
    instance.requests++;
    currentJob = job;
    const response = instance.exports.handler.handle(job.context, job.request);
    currentJob = undefined;
    const memoryBytes = instance.memory.buffer.byteLength;
    if (!validResponse(response)) {
      instances.delete(job.instanceKey);
      post({ type: 'failure', jobId: job.jobId, kind: 'invalid-response', message: 'The handler did not return a status, headers and a byte body.', memoryBytes, servedInWorker: storageReads.take() });
      return false;
    }
    const body = response.body.byteOffset === 0 && response.body.byteLength === response.body.buffer.byteLength ? response.body : response.body.slice();
    if (!instance.snapshot && memoryBytes > job.code.memoryLimitBytes * memoryHighWater) instances.delete(job.instanceKey);
    const idleNow = !instance.snapshot;
    post(
      { type: 'result', jobId: job.jobId, response: { status: response.status, headers: response.headers, body }, memoryBytes, freshInstance: fresh, instanceKeys: idleNow ? [...instances.keys()] : undefined, servedInWorker: storageReads.take() },
      [body.buffer as ArrayBuffer],
    );
    if (idleNow) return true;
    restoreSnapshot(instance); // after the answer left: off the latency path
  } catch (error) {
    currentJob = undefined;
    const { kind, message } = classify(error, instance, job);
    instances.delete(job.instanceKey);
    post({ type: 'failure', jobId: job.jobId, kind, message, memoryBytes: instance?.memory.buffer.byteLength ?? 0, servedInWorker: storageReads.take() });
  }
  return false;
}

function forget(codeKey: string): void {
  compiledByKey.delete(codeKey);
  for (const key of [...instances.keys()]) if (key.endsWith(`|${codeKey}`)) instances.delete(key);
}

function prepare(code: GuestCode): void {
  if (code.modules) compiledByKey.set(code.key, code.modules);
  loadGlue(code.modulePath).catch(() => glueModules.delete(code.modulePath)); // a failure shows on the first execute
}

/**
 * A job may be posted while the previous one still runs. If the main thread gives up on this
 * worker first it revokes such a job (to run it elsewhere), so the job runs here only if this
 * claim wins the race.
 */
function claimJob(jobId: number): boolean {
  const token = claimToken(jobId);
  return Atomics.compareExchange(cell, 1, token, 0) !== -token;
}

/** Jobs run one after the other, also when one arrives while another awaits its instance. */
let jobs: Promise<void> = Promise.resolve();

async function run(job: ExecuteMessage): Promise<void> {
  if (job.code.modules) compiledByKey.set(job.code.key, job.code.modules); // also from a revoked job: the main thread counts them as sent
  if (!claimJob(job.jobId)) return;
  if (!(await execute(job))) post({ type: 'idle', jobId: job.jobId, instanceKeys: [...instances.keys()] });
}

parentPort!.on('message', (message: ExecuteMessage | ForgetMessage | PrepareMessage) => {
  if (message.type === 'forget') return forget(message.codeKey);
  if (message.type === 'prepare') return prepare(message.code);
  if (message.type === 'execute') jobs = jobs.then(() => run(message));
});
