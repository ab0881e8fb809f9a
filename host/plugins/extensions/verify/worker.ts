import { parentPort } from 'node:worker_threads';
import { AlgaError, isAlgaError } from '../../../../lib/errors/index.ts';
import { verifyBundle } from '../../../../lib/signing/index.ts';
import { reproducibilityOf } from '../../../../lib/bundle/index.ts';
import { parseUpload, SIGNATURE_HEADER } from '../registry/upload.ts';
import type { VerifyAnswer, VerifyJob } from './protocol.ts';

/**
 * The host's bundle-verification thread: parses publish uploads and runs THE verification
 * (lib/signing/verify.ts: hash, signature, trust, archive, manifest, imports) away from the
 * event loop that serves every tenant's requests.
 */

function run(job: VerifyJob): { answer: VerifyAnswer; transfer: ArrayBuffer[] } {
  if (job.kind === 'stored') {
    verifyBundle(Buffer.from(job.bundle), job.signatureFile, job.trust, { expectedHash: job.expectedHash });
    return { answer: { id: job.id, ok: true, kind: 'stored' }, transfer: [] };
  }
  const body = Buffer.from(job.body);
  const parsed = job.form === 'json' ? parseJson(body) : body;
  const { bytes, signatureFile } = parseUpload(parsed, job.signatureHeader === undefined ? {} : { [SIGNATURE_HEADER]: job.signatureHeader });
  if (bytes.byteLength > job.maxBundleBytes) throw new AlgaError('E_REGISTRY_BUNDLE_TOO_LARGE', `It has ${bytes.byteLength} bytes; the limit is ${job.maxBundleBytes}.`);
  const verified = verifyBundle(bytes, signatureFile, job.trust);
  // The bundle goes back without a copy: alone in its buffer, or copied once into one.
  const bundle = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : bytes.slice().buffer;
  return {
    answer: { id: job.id, ok: true, kind: 'upload', hash: verified.hash, manifest: verified.manifest, signer: verified.signer, reproducibility: reproducibilityOf(verified), signatureFile, bundle },
    transfer: [bundle],
  };
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new AlgaError('E_REQUEST_INVALID', 'The body is not valid JSON.');
  }
}

parentPort!.on('message', (job: VerifyJob) => {
  try {
    const { answer, transfer } = run(job);
    parentPort!.postMessage(answer, transfer);
  } catch (error) {
    const failure = isAlgaError(error)
      ? { code: error.code, detail: error.detail, message: error.message }
      : { message: (error as Error)?.message ?? String(error) };
    parentPort!.postMessage({ id: job.id, ok: false, error: failure } satisfies VerifyAnswer);
  }
});
