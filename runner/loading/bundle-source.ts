import { defaultArchiveLimits, readStoredBundle, readStoredSignatureFile, storeBundle, storeSignatureFile } from '../../lib/bundle/index.ts';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import { storageFaultOf } from '../../lib/storage-faults.ts';

const registryTimeoutMs = 8_000;
/** The largest bundle the archive reader accepts: its entries plus a header and padding block each, and the end blocks. */
export const maxBundleDownloadBytes = defaultArchiveLimits.maxTotalBytes + (defaultArchiveLimits.maxEntries * 2 + 2) * 512;
const maxSignatureFileBytes = 1048576;

export interface BundleFiles {
  bytes: Uint8Array;
  signatureFile: unknown;
  /** Where the bytes came from, for the error message and the cache metric. */
  origin: 'folder' | 'registry' | 'shared';
}

export interface BundleSourceConfig {
  bundleDir: string;
  registryUrl?: string;
  serviceToken?: string;
  /** A fleet's shared bundle store (PostgreSQL, runner/fleet/database.ts), asked before the registry. */
  shared?: { fetchBundle(hash: string): Promise<{ bytes: Uint8Array; signatureFile: unknown } | undefined> };
}

/**
 * Finds a bundle by content hash: the content-addressed folder first, then a fleet's shared
 * store, then the host registry's blob endpoint. Fetched files are stored in the folder only by
 * `remember`, which the loader calls after verification passed.
 */
export class BundleSource {
  constructor(private readonly config: BundleSourceConfig) {}

  async fetch(hash: string): Promise<BundleFiles> {
    const bytes = readStoredBundle(this.config.bundleDir, hash);
    if (bytes) return { bytes, signatureFile: readStoredSignatureFile(this.config.bundleDir, hash), origin: 'folder' };
    const shared = await this.config.shared?.fetchBundle(hash);
    if (shared) return { ...shared, origin: 'shared' };
    if (!this.config.registryUrl) throw new AlgaError('E_RUNNER_BUNDLE_NOT_FOUND', `${hash} is not in ${this.config.bundleDir}.`);
    const base = `${this.config.registryUrl.replace(/\/$/, '')}/api/registry/bundles/${hash}`;
    const headers = this.config.serviceToken ? { authorization: `Bearer ${this.config.serviceToken}` } : undefined;
    // One deadline for both downloads, bodies included: a registry that stops answering fails the load.
    const signal = AbortSignal.timeout(registryTimeoutMs);
    let blob: Download;
    let signatures: Download;
    try {
      [blob, signatures] = await Promise.all([download(`${base}/blob`, headers, signal, maxBundleDownloadBytes), download(`${base}/signatures`, headers, signal, maxSignatureFileBytes)]);
    } catch (error) {
      if (isAlgaError(error)) throw error;
      throw new AlgaError('E_RUNNER_REGISTRY_UNAVAILABLE', `The registry at ${this.config.registryUrl} failed or did not answer within ${registryTimeoutMs / 1000} s.`, { cause: error });
    }
    if (blob.status === 404) throw new AlgaError('E_RUNNER_BUNDLE_NOT_FOUND', `The registry has no bundle ${hash}.`);
    if (blob.status !== 200) throw new AlgaError('E_RUNNER_REGISTRY_BAD_ANSWER', `The registry answered ${blob.status} for the bundle ${hash}.`);
    let signatureFile: unknown;
    if (signatures.status === 200) {
      try {
        signatureFile = JSON.parse(Buffer.from(signatures.bytes).toString('utf8'));
      } catch {
        throw new AlgaError('E_RUNNER_REGISTRY_BAD_ANSWER', `The signatures of ${hash} from the registry are not JSON.`);
      }
    } else if (signatures.status !== 404) {
      throw new AlgaError('E_RUNNER_REGISTRY_BAD_ANSWER', `The registry answered ${signatures.status} for the signatures of ${hash}.`);
    }
    return { bytes: blob.bytes, signatureFile, origin: 'registry' };
  }

  /**
   * Keeps a verified registry download in the folder, so the next start needs no network. Best
   * effort: a disk that refuses the copy (full) costs a download next time, not this execution.
   */
  remember(hash: string, files: BundleFiles): void {
    if (files.origin === 'folder') return;
    try {
      storeBundle(this.config.bundleDir, files.bytes, hash);
      if (files.signatureFile !== undefined) storeSignatureFile(this.config.bundleDir, hash, files.signatureFile);
    } catch (error) {
      if (!storageFaultOf(error, this.config.bundleDir)) throw error;
    }
  }
}

interface Download {
  status: number;
  bytes: Uint8Array;
}

/** A GET whose body is read only when the answer is 200, up to `maxBytes` (more → E_RUNNER_REGISTRY_BAD_ANSWER). */
async function download(url: string, headers: Record<string, string> | undefined, signal: AbortSignal, maxBytes: number): Promise<Download> {
  const response = await fetch(url, { headers, signal, redirect: 'error' });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => {});
    return { status: response.status, bytes: new Uint8Array() };
  }
  const tooLarge = () => new AlgaError('E_RUNNER_REGISTRY_BAD_ANSWER', `${url} is larger than ${maxBytes} bytes.`);
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  for (let read = await reader?.read(); reader && read && !read.done; read = await reader.read()) {
    total += read.value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(read.value);
  }
  return { status: 200, bytes: new Uint8Array(Buffer.concat(chunks)) };
}
