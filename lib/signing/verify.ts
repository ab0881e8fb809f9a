import { AlgaError } from '../errors/index.ts';
import { contentHashOf, type ContentHash } from '../bundle/hash.ts';
import { unpackHashedBundle, type BundleLimits, type UnpackedBundle } from '../bundle/unpack.ts';
import { parseSignatureFile, verifyEd25519, type SignatureFile } from './signature-file.ts';
import { verifySigstoreBundle } from './sigstore.ts';
import type { TrustBundle } from './trust-bundle.ts';

export interface BundleSigner {
  /** The Ed25519 key id, or `sigstore:<identity>` / `sigstore:key` for Sigstore signatures. */
  keyId: string;
  publisher: string;
}

export interface VerifiedBundle extends UnpackedBundle {
  signer: BundleSigner;
}

export interface VerifyOptions {
  /** The hash the caller asked for (install, cache key, URL); the bytes must have it. */
  expectedHash?: string;
  limits?: BundleLimits;
}

/**
 * THE verification of a bundle, used on publish, install and every runner load:
 * bytes ↔ expected hash ↔ signature file hash, a valid signature by a trusted key (or a
 * trusted Sigstore identity/key) for the manifest's publisher, then a safe, valid archive.
 */
export function verifyBundle(bytes: Uint8Array, signatureFile: unknown, trust: TrustBundle, options: VerifyOptions = {}): VerifiedBundle {
  const hash = contentHashOf(bytes);
  if (options.expectedHash !== undefined && options.expectedHash !== hash) {
    throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `Expected ${options.expectedHash}, the bytes hash to ${hash}.`);
  }
  if (signatureFile === undefined || signatureFile === null) throw new AlgaError('E_SIGNATURE_MISSING', `No signature file for ${hash}.`);
  const signatures = parseSignatureFile(signatureFile);
  if (signatures.signatures.length === 0 && (signatures.sigstore ?? []).length === 0) {
    throw new AlgaError('E_SIGNATURE_MISSING', `The signature file for ${hash} holds no signatures.`);
  }
  if (signatures.contentHash !== hash) {
    throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `The signature file is for ${signatures.contentHash}, the bytes hash to ${hash}.`);
  }
  const signers = trustedSigners(bytes, hash, signatures, trust);
  const unpacked = unpackHashedBundle(bytes, hash, options.limits);
  const signer = signers.find((candidate) => candidate.publisher === unpacked.manifest.publisher);
  if (!signer) {
    throw new AlgaError(
      'E_SIGNATURE_PUBLISHER_MISMATCH',
      `The manifest names publisher "${unpacked.manifest.publisher}"; the signing key is trusted for ${signers.map((s) => `"${s.publisher}"`).join(', ')}.`,
    );
  }
  return { ...unpacked, signer };
}

/** Every signer whose signature verifies and whom the trust bundle trusts; throws when there is none. */
function trustedSigners(bytes: Uint8Array, hash: ContentHash, file: SignatureFile, trust: TrustBundle): BundleSigner[] {
  const signers: BundleSigner[] = [];
  const invalid: string[] = [];
  const untrusted: string[] = [];
  for (const signature of file.signatures) {
    const key = trust.keys.find((candidate) => candidate.keyId === signature.keyId);
    if (!key) {
      untrusted.push(signature.keyId);
      continue;
    }
    if (verifyEd25519(hash, signature, Buffer.from(key.publicKey, 'base64'))) signers.push({ keyId: key.keyId, publisher: key.publisher });
    else invalid.push(signature.keyId);
  }
  const sigstoreErrors: string[] = [];
  for (const bundle of file.sigstore ?? []) {
    const signer = sigstoreSigner(bytes, bundle, trust, sigstoreErrors);
    if (signer) signers.push(signer);
  }
  if (signers.length > 0) return signers;
  if (invalid.length > 0) throw new AlgaError('E_SIGNATURE_INVALID', `Key ${invalid.join(', ')} did not sign ${hash}.`);
  if (sigstoreErrors.length > 0) throw new AlgaError('E_SIGSTORE_INVALID', sigstoreErrors.join(' '));
  throw new AlgaError(
    'E_SIGNATURE_UNTRUSTED_KEY',
    `Signed by ${untrusted.join(', ')}; none is in the trust bundle. On a host, trust the signer's key with ` +
      '`alga-host trust add --publisher <publisher> --public-key <public key from alga-ext keygen>` (it applies without a restart); ' +
      'for `alga-ext verify`, add its entry to your trust.json (`alga-ext keygen -o KEY --trust trust.json` writes it for a new key).',
  );
}

function sigstoreSigner(bytes: Uint8Array, bundle: unknown, trust: TrustBundle, errors: string[]): BundleSigner | undefined {
  const sigstore = trust.sigstore;
  if (!sigstore) {
    errors.push('The trust bundle has no "sigstore" section, so Sigstore signatures cannot be trusted.');
    return undefined;
  }
  const attempts: { publisher: string; keyId: string; run: () => void }[] = [
    ...(sigstore.identities ?? []).map((entry) => ({
      publisher: entry.publisher,
      keyId: `sigstore:${entry.identity}`,
      run: () => verifySigstoreBundle({ bundle, artifact: bytes, trustedRoot: sigstore.trustedRoot, identity: entry.identity, issuer: entry.issuer }),
    })),
    ...(sigstore.keys ?? []).map((entry) => ({
      publisher: entry.publisher,
      keyId: 'sigstore:key',
      run: () => verifySigstoreBundle({ bundle, artifact: bytes, trustedRoot: sigstore.trustedRoot, key: entry.publicKey }),
    })),
  ];
  for (const attempt of attempts) {
    try {
      attempt.run();
      return { keyId: attempt.keyId, publisher: attempt.publisher };
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  if (attempts.length === 0) errors.push('The trust bundle\'s "sigstore" section lists no identities or keys.');
  return undefined;
}
