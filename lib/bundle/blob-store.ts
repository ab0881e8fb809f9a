import { ensureRoom } from '../storage-faults.ts';
import { hasStoredBundle, readStoredBundle, readStoredSignatureFile, removeStoredBundle, storedBundlePath, storeHashedBundle } from './store.ts';

/**
 * Where the registry keeps bundle bytes and signature files by content hash. Embedded: the
 * content-addressed folder (store.ts). A fleet: a shared store every node reaches (PostgreSQL,
 * host/core/postgres/bundle-blobs.ts), with the folder as this node's cache by hash.
 * Whoever reads bytes from here verifies hash and signature before using them, as always.
 */
export interface BundleBlobs {
  has(hash: string): boolean;
  read(hash: string): Uint8Array | undefined;
  /** The parsed signature file, or undefined when there is none. */
  readSignatureFile(hash: string): unknown;
  /** Stores both, durably, before it resolves. `bytes` were verified against `hash` (the publish verification). */
  write(hash: string, bytes: Uint8Array, signatureFile: unknown): Promise<void>;
  remove(hash: string): void;
  /** A file on this node holding the bytes (fetched into the cache first when needed), for streaming; undefined when unknown. */
  localPath(hash: string): string | undefined;
}

/** The embedded store: the content-addressed folder. */
export function folderBundleBlobs(dir: string): BundleBlobs {
  return {
    has: (hash) => hasStoredBundle(dir, hash),
    read: (hash) => readStoredBundle(dir, hash),
    readSignatureFile: (hash) => readStoredSignatureFile(dir, hash),
    async write(hash, bytes, signatureFile) {
      // A blob that would leave the disk without its reserve is refused before it is written: the store's next commit needs that room.
      if (!hasStoredBundle(dir, hash)) ensureRoom(dir, bytes.byteLength);
      await storeHashedBundle(dir, hash, bytes, signatureFile);
    },
    remove: (hash) => removeStoredBundle(dir, hash),
    localPath: (hash) => (hasStoredBundle(dir, hash) ? storedBundlePath(dir, hash) : undefined),
  };
}
