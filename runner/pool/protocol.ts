/** Messages between the runner's main thread and its guest workers. */
import type { ServedInWorker, StorageReadGrant } from '../storage/worker-reads.ts';

export type IsolationPolicy = 'tenant' | 'request';

/** The WIT `request-context` record as jco expects it. */
export interface GuestContext {
  tenantId: string;
  extensionId: string;
  installId: string;
  requestId: string;
  version: string;
  contentHash: string;
  config: [string, string][];
}

/** The WIT `http-request` / `http-response` records. */
export interface GuestRequest {
  method: string;
  path: string;
  query: string;
  headers: [string, string][];
  body: Uint8Array;
}

export interface GuestResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}

export interface GuestCode {
  /** Names one compiled variant: content hash + memory cap. */
  key: string;
  modulePath: string;
  /** Sent only to a worker that does not hold this key yet. */
  modules?: Record<string, WebAssembly.Module>;
  memoryLimitBytes: number;
  /**
   * GET paths a new instance is called on once (host calls refused, output dropped) before its
   * state is kept as the one it is reset to, so the code a request runs first is compiled.
   */
  warmUpPaths: string[];
}

/** What a worker that already holds the code's modules is sent of it. */
export function withoutModules(code: GuestCode): GuestCode {
  return { key: code.key, modulePath: code.modulePath, memoryLimitBytes: code.memoryLimitBytes, warmUpPaths: code.warmUpPaths };
}

export interface ExecuteMessage {
  type: 'execute';
  jobId: number;
  /** Posted behind a running job: the worker runs it only if it wins the claim cell (see claimToken). */
  claim: boolean;
  instanceKey: string;
  policy: IsolationPolicy;
  recycleAfterRequests: number;
  recycleAfterMs: number;
  maxStdioBytes: number;
  /** The guest call's deadline; the worker gives up waiting for a host answer a little after it. */
  deadlineMs: number;
  code: GuestCode;
  context: GuestContext;
  request: GuestRequest;
  /** Set when the worker may answer this job's storage reads itself (runner/storage/worker-reads.ts). */
  storageReads?: StorageReadGrant;
}

/**
 * New compiled code: the worker keeps the modules and loads the glue before any request needs
 * them; with `instantiate`, it also makes a clean instance ready for the first tenant.
 */
export interface PrepareMessage {
  type: 'prepare';
  code: GuestCode;
  instantiate?: boolean;
}

/** The main thread dropped compiled code: the worker forgets it and the instances built from it. */
export interface ForgetMessage {
  type: 'forget';
  codeKey: string;
}

export type FailureKind = 'trap' | 'memory' | 'invalid-response' | 'load';

/**
 * Changes to what the worker holds since its last message, applied in order by the main thread:
 * `[key, present]` where key is an instance key (an instance owned by it), `code|<codeKey>`
 * (at least one instance of that code, owned or clean) or `clean|<codeKey>` (a clean instance
 * of that code, ready for any tenant).
 */
export type HoldingChanges = Array<[string, boolean]>;

export type WorkerMessage =
  /** The worker has loaded and takes jobs. */
  | { type: 'ready' }
  /** `idle` is set when the worker is already idle again (nothing left to do after answering). */
  | { type: 'result'; jobId: number; response: GuestResponse; memoryBytes: number; freshInstance: boolean; idle: boolean; changes?: HoldingChanges; servedInWorker?: ServedInWorker }
  | { type: 'failure'; jobId: number; kind: FailureKind; message: string; memoryBytes: number; changes?: HoldingChanges; servedInWorker?: ServedInWorker }
  | { type: 'stdio'; jobId: number; stream: 'stdout' | 'stderr'; text: string; truncated: boolean }
  /** The worker finished `jobId` (and, under `request` policy, restored the snapshot after it). */
  | { type: 'idle'; jobId: number; changes?: HoldingChanges }
  /** What it holds changed outside a job (code forgotten). */
  | { type: 'holding'; changes: HoldingChanges }
  /** A `prepare` with `instantiate` is done (whether or not an instance could be made). */
  | { type: 'prepared'; codeKey: string; changes?: HoldingChanges };

/** A guest→host call, posted on the host port while the worker blocks on `Atomics.wait`. */
export interface HostCallMessage {
  jobId: number;
  /** Numbered per worker; the answer carries it, so a late answer is never taken for the next call's. */
  callId: number;
  iface: string;
  fn: string;
  args: unknown[];
}

export type HostCallReply = { callId: number } & ({ value: unknown } | { error: { tag: string; val: string } });

/**
 * The value in the shared claim cell for a job queued behind a running one: the main thread
 * stores it before posting, the worker swaps it for 0 when it starts the job (and runs the job
 * only if the cell held exactly this token), and the main thread swaps it for its negative to
 * revoke the job (Int32, so job ids are folded). The cell holds at most one job's token.
 */
export function claimToken(jobId: number): number {
  return (jobId % 0x3fffffff) + 1;
}

/**
 * Each worker shares one small buffer with the main thread: Int32 cells, then the time (µs, as
 * `performance.timeOrigin + performance.now()`) at which the current phase began.
 */
export const SlotCell = {
  /** Bumped by the main thread after each host-call answer it posts (the worker waits on it). */
  hostReply: 0,
  /** See claimToken. */
  claim: 1,
  /** `token` while the guest call of that job runs, `-token` while its instance is being made ready, `preparingPhase` while a prepared instance is made, 0 otherwise. */
  phase: 2,
  /** Instances the worker holds, and their linear memory (plus snapshots) in KiB. */
  instances: 3,
  instanceKiB: 4,
  /** Counts since the worker started: instances created, and instances reset for another tenant. */
  instantiations: 5,
  tenantSwitches: 6,
} as const;
export const slotCellCount = 8;
/** The phase of a worker making a prepared instance (job tokens are at most 0x40000000). */
export const preparingPhase = 0x7fffffff;
export const slotSignalBytes = slotCellCount * 4 + 8;

export function slotViews(signal: SharedArrayBuffer): { cells: Int32Array; phaseSince: BigInt64Array } {
  return { cells: new Int32Array(signal, 0, slotCellCount), phaseSince: new BigInt64Array(signal, slotCellCount * 4, 1) };
}

/** Milliseconds on a clock both threads share. */
export function sharedClockMs(): number {
  return performance.timeOrigin + performance.now();
}
