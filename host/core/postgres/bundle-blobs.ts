import { contentHashOf, folderBundleBlobs, storeBundle, storeSignatureFile, type BundleBlobs } from '../../../lib/bundle/index.ts';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { SqlHostStore } from './postgres-store.ts';

/** Bundle bytes are kept in rows of this size (a 12 MB component is a dozen statements). */
export const bundleChunkBytes = 1024 * 1024;

/**
 * Bundle bytes by content hash in PostgreSQL (`alga_bundles` + `alga_bundle_chunks`), reached by
 * every node of a fleet; this node's content-addressed folder is the cache. A bundle read from
 * the database is checked against its hash before it is cached, and whoever uses it verifies the
 * signature as always. Writing commits the rows before it resolves: a publish acknowledged by one
 * node is readable by every other.
 */
export function postgresBundleBlobs(store: SqlHostStore, cacheDir: string): BundleBlobs {
  const cache = folderBundleBlobs(cacheDir);

  function fetchIntoCache(hash: string): Uint8Array | undefined {
    const head = store.query({ name: 'alga-bundle-head', text: 'SELECT size, chunks, signature_file FROM alga_bundles WHERE hash = $1', values: [hash] });
    if (head.length === 0) return undefined;
    const [size, chunkCount, signatureText] = head[0] as [string, number, string | null];
    const rows = store.query({ name: 'alga-bundle-chunks', text: 'SELECT bytes FROM alga_bundle_chunks WHERE hash = $1 ORDER BY seq', values: [hash] });
    const bytes = Buffer.concat(rows.map((row) => row[0] as Uint8Array));
    if (rows.length !== chunkCount || bytes.length !== Number(size) || contentHashOf(bytes) !== hash) {
      throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `The shared bundle store holds bytes for ${hash} that do not match it.`);
    }
    storeBundle(cacheDir, bytes, hash);
    if (signatureText !== null) storeSignatureFile(cacheDir, hash, JSON.parse(signatureText));
    return bytes;
  }

  return {
    has: (hash) => cache.has(hash) || store.query({ name: 'alga-bundle-has', text: 'SELECT 1 FROM alga_bundles WHERE hash = $1', values: [hash] }).length > 0,
    read: (hash) => cache.read(hash) ?? fetchIntoCache(hash),
    readSignatureFile(hash) {
      const rows = store.query({ name: 'alga-bundle-signature', text: 'SELECT signature_file FROM alga_bundles WHERE hash = $1', values: [hash] });
      if (rows.length === 0) return cache.readSignatureFile(hash);
      const text = rows[0][0] as string | null;
      return text === null ? undefined : JSON.parse(text);
    },
    async write(hash, bytes, signatureFile) {
      const signatureText = signatureFile === undefined ? null : typeof signatureFile === 'string' ? signatureFile : JSON.stringify(signatureFile);
      const chunks = Math.max(1, Math.ceil(bytes.length / bundleChunkBytes));
      store.transaction(() => {
        const inserted = store.query({
          text: 'INSERT INTO alga_bundles (hash, size, chunks, signature_file) VALUES ($1, $2, $3, $4) ON CONFLICT (hash) DO UPDATE SET signature_file = EXCLUDED.signature_file RETURNING (xmax = 0)',
          values: [hash, bytes.length, chunks, signatureText],
        });
        if (inserted[0]?.[0] !== true) return; // the same bytes are already there (same hash)
        for (let seq = 0; seq < chunks; seq++) {
          store.query({ text: 'INSERT INTO alga_bundle_chunks (hash, seq, bytes) VALUES ($1, $2, $3)', values: [hash, seq, bytes.slice(seq * bundleChunkBytes, (seq + 1) * bundleChunkBytes)] });
        }
      });
      // The database holds it now; this node's copy is only a cache (a full disk here refuses nothing).
      await cache.write(hash, bytes, signatureFile).catch(() => undefined);
    },
    remove(hash) {
      store.query({ text: 'DELETE FROM alga_bundles WHERE hash = $1', values: [hash] });
      cache.remove(hash);
    },
    localPath(hash) {
      if (!cache.has(hash) && !fetchIntoCache(hash)) return undefined;
      return cache.localPath(hash);
    },
  };
}
