import type { Worker } from 'node:worker_threads';
import type { Manifest, Reproducibility } from '../../../../lib/bundle/index.ts';
import { AlgaError, errorCatalog, type ErrorCode } from '../../../../lib/errors/index.ts';
import type { BundleSigner, TrustBundle } from '../../../../lib/signing/index.ts';
import { startTsWorker } from '../../../../lib/ts-worker.ts';
import type { VerifyAnswer, VerifyJob } from './protocol.ts';

export interface VerifiedUpload {
  hash: string;
  manifest: Manifest;
  signer: BundleSigner;
  reproducibility: Reproducibility;
  signatureFile: unknown;
  bytes: Buffer;
}

type Pending = { resolve: (answer: VerifyAnswer & { ok: true }) => void; reject: (error: Error) => void };

/** A buffer that owns the whole of its ArrayBuffer can be moved to the worker; any other is copied once. */
function movable(bytes: Buffer): ArrayBuffer {
  if (bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer) return bytes.buffer;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Bundle verification on a worker thread (verify/worker.ts), so hashing, signature checks and
 * unpacking a bundle of up to 64 MB never hold up the event loop that serves every tenant.
 * One worker, started on first use and restarted if it dies; jobs queue in its message port.
 * The upload's bytes travel to the worker and back without a copy (the body buffer is handed
 * over; do not use it after calling `verifyUpload`).
 */
export class BundleVerifier {
  private worker?: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  verifyUpload(input: { body: Buffer; form: 'raw' | 'json'; signatureHeader?: string; trust: TrustBundle; maxBundleBytes: number }): Promise<VerifiedUpload> {
    const body = movable(input.body);
    return this.run({ id: 0, kind: 'upload', body, form: input.form, signatureHeader: input.signatureHeader, trust: input.trust, maxBundleBytes: input.maxBundleBytes }, [body]).then((answer) => {
      if (answer.kind !== 'upload') throw new Error('The bundle verification thread answered another job.');
      return { hash: answer.hash, manifest: answer.manifest, signer: answer.signer, reproducibility: answer.reproducibility, signatureFile: answer.signatureFile, bytes: Buffer.from(answer.bundle) };
    });
  }

  /** Checks a stored blob again (hash, signature, current trust); rejects with the verification's catalog error. The bytes are handed over. */
  async verifyStored(bytes: Buffer, signatureFile: unknown, trust: TrustBundle, expectedHash: string): Promise<void> {
    const bundle = movable(bytes);
    await this.run({ id: 0, kind: 'stored', bundle, signatureFile, trust, expectedHash }, [bundle]);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }

  private run(job: VerifyJob, transfer: ArrayBuffer[]): Promise<VerifyAnswer & { ok: true }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.start().postMessage({ ...job, id }, transfer);
    });
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = startTsWorker(new URL('./worker.ts', import.meta.url), { env: {} });
    worker.unref();
    worker.on('message', (answer: VerifyAnswer) => {
      const job = this.pending.get(answer.id);
      if (!job) return;
      this.pending.delete(answer.id);
      if (answer.ok) job.resolve(answer);
      else job.reject(answer.error.code && answer.error.code in errorCatalog ? new AlgaError(answer.error.code as ErrorCode, answer.error.detail) : new Error(answer.error.message));
    });
    const fail = (reason: string) => {
      if (this.worker === worker) this.worker = undefined;
      for (const [id, job] of this.pending) {
        this.pending.delete(id);
        job.reject(new Error(`The bundle verification thread stopped: ${reason}`));
      }
    };
    worker.on('error', (error) => fail(error.message));
    worker.on('exit', (code) => fail(`exit code ${code}`));
    this.worker = worker;
    return worker;
  }
}
