import { bundleFromJSON } from '@sigstore/bundle';
import nacl from 'tweetnacl';
import { AlgaError } from '../errors/index.ts';
import { isContentHash, type ContentHash } from '../bundle/hash.ts';
import { decodeBase64, type SigningKey } from './keys.ts';

/** `<bundle>.sig.json`: signatures over one bundle's content hash. */
export interface SignatureFile {
  version: 1;
  contentHash: ContentHash;
  signatures: Ed25519Signature[];
  /** Sigstore bundles (JSON) whose artifact is the bundle file. */
  sigstore?: unknown[];
}

export interface Ed25519Signature {
  algorithm: 'ed25519';
  keyId: string;
  signature: string;
}

const domain = 'alga-extension-bundle-signature-v1\n';

/** The bytes an Ed25519 signature covers: a fixed domain prefix, then the content hash. */
export function signatureMessage(hash: ContentHash): Uint8Array {
  return new TextEncoder().encode(`${domain}${hash}`);
}

export function signContentHash(hash: ContentHash, key: SigningKey): Ed25519Signature {
  const secretKey = decodeBase64(key.secretKey, nacl.sign.secretKeyLength, 'secretKey');
  const signature = nacl.sign.detached(signatureMessage(hash), secretKey);
  return { algorithm: 'ed25519', keyId: key.keyId, signature: Buffer.from(signature).toString('base64') };
}

export function verifyEd25519(hash: ContentHash, signature: Ed25519Signature, publicKey: Uint8Array): boolean {
  const bytes = Buffer.from(signature.signature, 'base64');
  if (bytes.length !== nacl.sign.signatureLength) return false;
  return nacl.sign.detached.verify(signatureMessage(hash), bytes, publicKey);
}

/**
 * Adds a signature to a bundle's signature file (creating it when absent). A signature by the
 * same key replaces the old one; a file for another hash is refused.
 */
export function addSignature(existing: SignatureFile | undefined, hash: ContentHash, signature: Ed25519Signature): SignatureFile {
  if (existing && existing.contentHash !== hash) {
    throw new AlgaError('E_SIGNATURE_FILE_INVALID', `It signs ${existing.contentHash}, but the bundle is ${hash}.`);
  }
  const others = (existing?.signatures ?? []).filter((entry) => entry.keyId !== signature.keyId);
  return { ...(existing ?? { version: 1, contentHash: hash }), signatures: [...others, signature] };
}

/**
 * Attaches a Sigstore bundle (e.g. from `cosign sign-blob --bundle`) whose artifact is the
 * bundle file. It is checked to parse and, for a message signature, to be over this hash;
 * full verification happens in verifyBundle against the trust bundle.
 */
export function addSigstoreBundle(existing: SignatureFile | undefined, hash: ContentHash, sigstoreJson: unknown): SignatureFile {
  if (existing && existing.contentHash !== hash) {
    throw new AlgaError('E_SIGNATURE_FILE_INVALID', `It signs ${existing.contentHash}, but the bundle is ${hash}.`);
  }
  let parsed;
  try {
    parsed = bundleFromJSON(sigstoreJson);
  } catch (error) {
    throw new AlgaError('E_SIGSTORE_INVALID', `It is not a Sigstore bundle: ${(error as Error).message}.`);
  }
  if (parsed.content.$case === 'messageSignature') {
    const digest = parsed.content.messageSignature.messageDigest?.digest;
    if (digest && `sha256:${Buffer.from(digest).toString('hex')}` !== hash) {
      throw new AlgaError('E_SIGSTORE_INVALID', `It signs sha256:${Buffer.from(digest).toString('hex')}, not ${hash}.`);
    }
  }
  const base = existing ?? { version: 1 as const, contentHash: hash, signatures: [] };
  return { ...base, sigstore: [...(base.sigstore ?? []), sigstoreJson] };
}

/** Parses a signature file given as an object, JSON text or bytes. */
export function parseSignatureFile(value: unknown): SignatureFile {
  let parsed = value;
  if (value instanceof Uint8Array) parsed = new TextDecoder().decode(value);
  if (typeof parsed === 'string') {
    try {
      parsed = JSON.parse(parsed);
    } catch (error) {
      throw new AlgaError('E_SIGNATURE_FILE_INVALID', `It is not JSON: ${(error as Error).message}`);
    }
  }
  const file = parsed as Partial<SignatureFile> | null;
  if (!file || typeof file !== 'object') throw new AlgaError('E_SIGNATURE_FILE_INVALID', 'It must be a JSON object.');
  if (file.version !== 1) throw new AlgaError('E_SIGNATURE_FILE_INVALID', '/version: must be 1.');
  if (!isContentHash(file.contentHash)) throw new AlgaError('E_SIGNATURE_FILE_INVALID', '/contentHash: must be sha256:<64 hex>.');
  const signatures = file.signatures ?? [];
  if (!Array.isArray(signatures)) throw new AlgaError('E_SIGNATURE_FILE_INVALID', '/signatures: must be an array.');
  signatures.forEach((entry, index) => {
    const ok = entry && entry.algorithm === 'ed25519' && typeof entry.keyId === 'string' && typeof entry.signature === 'string';
    if (!ok) throw new AlgaError('E_SIGNATURE_FILE_INVALID', `/signatures/${index}: needs algorithm "ed25519", keyId and signature.`);
  });
  if (file.sigstore !== undefined && !Array.isArray(file.sigstore)) {
    throw new AlgaError('E_SIGNATURE_FILE_INVALID', '/sigstore: must be an array of Sigstore bundles.');
  }
  return { version: 1, contentHash: file.contentHash, signatures, ...(file.sigstore ? { sigstore: file.sigstore } : {}) };
}
