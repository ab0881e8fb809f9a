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
}

export interface ExecuteMessage {
  type: 'execute';
  jobId: number;
  instanceKey: string;
  policy: IsolationPolicy;
  recycleAfterRequests: number;
  recycleAfterMs: number;
  maxStdioBytes: number;
  /** `request` policy: GET paths called once (host calls refused) before the memory snapshot. */
  warmUpPaths: string[];
  code: GuestCode;
  context: GuestContext;
  request: GuestRequest;
  /** Set when the worker may answer this job's storage reads itself (runner/storage/worker-reads.ts). */
  storageReads?: StorageReadGrant;
}

/** New compiled code: the worker keeps the modules and loads the glue before any request needs them. */
export interface PrepareMessage {
  type: 'prepare';
  code: GuestCode;
}

/** The main thread dropped compiled code: the worker forgets it and the instances built from it. */
export interface ForgetMessage {
  type: 'forget';
  codeKey: string;
}

export type FailureKind = 'trap' | 'memory' | 'invalid-response' | 'load';

export type WorkerMessage =
  /** `instanceKeys` is set when the worker is already idle again (nothing left to do after answering). */
  | { type: 'result'; jobId: number; response: GuestResponse; memoryBytes: number; freshInstance: boolean; instanceKeys?: string[]; servedInWorker?: ServedInWorker }
  | { type: 'failure'; jobId: number; kind: FailureKind; message: string; memoryBytes: number; servedInWorker?: ServedInWorker }
  | { type: 'stdio'; jobId: number; stream: 'stdout' | 'stderr'; text: string; truncated: boolean }
  /** The worker finished `jobId` (and, under `request` policy, restored the snapshot after it). */
  | { type: 'idle'; jobId: number; instanceKeys: string[] };

/** A guest→host call, posted on the host port while the worker blocks on `Atomics.wait`. */
export interface HostCallMessage {
  jobId: number;
  iface: string;
  fn: string;
  args: unknown[];
}

export type HostCallReply = { value: unknown } | { error: { tag: string; val: string } };

/**
 * The value in the shared claim cell for a job queued behind a running one: the main thread
 * stores it before posting, the worker swaps it for 0 when it starts the job, and the main
 * thread swaps it for its negative to revoke the job (Int32, so job ids are folded).
 */
export function claimToken(jobId: number): number {
  return (jobId % 0x3fffffff) + 1;
}
