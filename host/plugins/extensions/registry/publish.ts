import { AlgaError } from '../../../../lib/errors/index.ts';
import type { BundleBlobs } from '../../../../lib/bundle/index.ts';
import { verifyBundle, type TrustBundle } from '../../../../lib/signing/index.ts';
import type { Principal } from '../../../core/auth/index.ts';
import { checkOwner, type RegistryStore, type VersionRecord } from './registry-store.ts';

export interface PublishResult {
  created: boolean;
  version: VersionRecord;
}

function conflict(existing: VersionRecord, hash: string): never {
  throw new AlgaError('E_REGISTRY_VERSION_CONFLICT', `${existing.extensionId}@${existing.version} is ${existing.contentHash}; this bundle is ${hash}.`);
}

/**
 * Publishes a signed bundle: THE verification (hash, signature, trust, archive, manifest,
 * capabilities vs imports), then the publisher check, then the blob and signature on disk,
 * then the metadata in one transaction. Nothing is kept when any step fails.
 */
export function publishBundle(options: {
  registry: RegistryStore;
  blobs: BundleBlobs;
  trust: TrustBundle;
  bytes: Uint8Array;
  signatureFile: unknown;
  principal: Principal;
}): PublishResult {
  const { registry, blobs, bytes, principal } = options;
  const verified = verifyBundle(bytes, options.signatureFile, options.trust);
  const { manifest, hash } = verified;
  if (principal.publisher !== undefined && principal.publisher !== manifest.publisher) {
    throw new AlgaError('E_REGISTRY_PUBLISHER_MISMATCH', `The token publishes for "${principal.publisher}"; the bundle is by "${manifest.publisher}".`);
  }
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
    signer: verified.signer,
    size: bytes.byteLength,
    publishedAt: new Date().toISOString(),
    publishedBy: `${principal.kind}:${principal.id}`,
  };
  try {
    blobs.write(hash, bytes, options.signatureFile);
    const created = registry.addVersion(record, (found) => conflict(found, hash));
    return { created, version: created ? record : registry.getVersion(manifest.name, manifest.version)! };
  } catch (error) {
    if (!blobExisted) blobs.remove(hash);
    throw error;
  }
}
