import { AlgaError } from '../../../../lib/errors/index.ts';
import type { BundleBlobs } from '../../../../lib/bundle/index.ts';
import type { Principal } from '../../../core/auth/index.ts';
import type { VerifiedUpload } from '../verify/bundle-verifier.ts';
import { checkOwner, type RegistryStore, type VersionRecord } from './registry-store.ts';

export interface PublishResult {
  created: boolean;
  version: VersionRecord;
}

function conflict(existing: VersionRecord, hash: string): never {
  throw new AlgaError('E_REGISTRY_VERSION_CONFLICT', `${existing.extensionId}@${existing.version} is ${existing.contentHash}; this bundle is ${hash}.`);
}

/** Publishes of one content hash run one at a time, so one's clean-up never removes a blob another has just stored. */
const publishing = new Map<string, Promise<unknown>>();

function oneAtATime<T>(hash: string, action: () => Promise<T>): Promise<T> {
  const previous = publishing.get(hash) ?? Promise.resolve();
  const run = previous.then(action, action);
  const settled = run.catch(() => undefined);
  publishing.set(hash, settled);
  void settled.then(() => {
    if (publishing.get(hash) === settled) publishing.delete(hash);
  });
  return run;
}

/**
 * Publishes a bundle that THE verification has passed (verify/bundle-verifier.ts: hash,
 * signature, trust, archive, manifest, capabilities vs imports): the publisher check, then the
 * blob and signature in the bundle store, then the metadata in one transaction. Nothing is kept when any
 * step fails.
 */
export async function publishVerifiedBundle(options: { registry: RegistryStore; blobs: BundleBlobs; upload: VerifiedUpload; principal: Principal }): Promise<PublishResult> {
  const { registry, blobs, upload, principal } = options;
  const { manifest, hash } = upload;
  if (principal.publisher !== undefined && principal.publisher !== manifest.publisher) {
    throw new AlgaError('E_REGISTRY_PUBLISHER_MISMATCH', `The token publishes for "${principal.publisher}"; the bundle is by "${manifest.publisher}".`);
  }
  return oneAtATime(hash, async () => {
    checkOwner(registry.getExtension(manifest.name)?.publisher, manifest);
    const existing = registry.getVersion(manifest.name, manifest.version);
    if (existing) {
      if (existing.contentHash === hash) return { created: false, version: existing };
      conflict(existing, hash);
    }
    const blobExisted = blobs.has(hash);
    const record: VersionRecord = {
      extensionId: manifest.name,
      version: manifest.version,
      contentHash: hash,
      manifest,
      signer: upload.signer,
      reproducibility: upload.reproducibility,
      size: upload.bytes.byteLength,
      publishedAt: new Date().toISOString(),
      publishedBy: `${principal.kind}:${principal.id}`,
    };
    try {
      await blobs.write(hash, upload.bytes, upload.signatureFile);
      const created = registry.addVersion(record, (found) => conflict(found, hash));
      return { created, version: created ? record : registry.getVersion(manifest.name, manifest.version)! };
    } catch (error) {
      if (!blobExisted) blobs.remove(hash);
      throw error;
    }
  });
}
