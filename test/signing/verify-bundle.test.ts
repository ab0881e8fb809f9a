import { describe, expect, it } from 'vitest';
import { refusalOf as refusal } from '../support/refusal.ts';
import { contentHashOf, packBundle } from '../../lib/bundle/index.ts';
import {
  addSignature,
  generateSigningKey,
  keyIdOf,
  loadTrustBundle,
  parseTrustBundle,
  signContentHash,
  verifyBundle,
  type SignatureFile,
  type SigningKey,
  type TrustBundle,
} from '../../lib/signing/index.ts';
import { example } from '../bundle/fixtures.ts';

const hello = example('hello');
const bytes = packBundle({ manifest: hello.manifest, component: hello.component });
const hash = contentHashOf(bytes);
const publisherKey = generateSigningKey();
const strangerKey = generateSigningKey();

function trustFor(...entries: [SigningKey, string][]): TrustBundle {
  return parseTrustBundle({ version: 1, keys: entries.map(([key, publisher]) => ({ keyId: key.keyId, publisher, publicKey: key.publicKey })) });
}

function signed(key: SigningKey, over = hash): SignatureFile {
  return addSignature(undefined, over, signContentHash(over, key));
}

describe('verifyBundle', () => {
  const trust = trustFor([publisherKey, 'example']);

  it('verifies a bundle signed by a trusted key and returns its contents and signer', () => {
    const verified = verifyBundle(bytes, signed(publisherKey), trust, { expectedHash: hash });
    expect(verified.hash).toBe(hash);
    expect(verified.manifest.name).toBe('com.example.hello');
    expect(verified.signer).toEqual({ keyId: publisherKey.keyId, publisher: 'example' });
    expect(verified.component.length).toBe(hello.component.length);
  });

  it('accepts the signature file as JSON text or bytes, as read from disk', () => {
    const text = JSON.stringify(signed(publisherKey));
    expect(verifyBundle(bytes, text, trust).hash).toBe(hash);
    expect(verifyBundle(bytes, new TextEncoder().encode(text), trust).hash).toBe(hash);
  });

  it('refuses a tampered byte (hash mismatch)', () => {
    const tampered = new Uint8Array(bytes);
    tampered[tampered.length - 2048 - 100] ^= 0xff;
    const result = refusal(() => verifyBundle(tampered, signed(publisherKey), trust));
    expect(result.code).toBe('E_BUNDLE_HASH_MISMATCH');
    expect(result.message).toContain(hash);
  });

  it('refuses bytes that are not the hash the caller asked for', () => {
    const expectedHash = `sha256:${'0'.repeat(64)}`;
    expect(refusal(() => verifyBundle(bytes, signed(publisherKey), trust, { expectedHash })).code).toBe('E_BUNDLE_HASH_MISMATCH');
  });

  it('refuses a signature by a key not in the trust bundle', () => {
    const result = refusal(() => verifyBundle(bytes, signed(strangerKey), trust));
    expect(result.code).toBe('E_SIGNATURE_UNTRUSTED_KEY');
    expect(result.message).toContain(strangerKey.keyId);
  });

  it('refuses a signature over another hash', () => {
    const otherHash = contentHashOf(new TextEncoder().encode('another bundle'));
    const forged: SignatureFile = { version: 1, contentHash: hash, signatures: [signContentHash(otherHash, publisherKey)] };
    expect(refusal(() => verifyBundle(bytes, forged, trust)).code).toBe('E_SIGNATURE_INVALID');
  });

  it('refuses a signature made by another key that claims a trusted key id', () => {
    const impostor = { ...signContentHash(hash, strangerKey), keyId: publisherKey.keyId };
    expect(refusal(() => verifyBundle(bytes, { version: 1, contentHash: hash, signatures: [impostor] }, trust)).code).toBe('E_SIGNATURE_INVALID');
  });

  it('refuses a missing or empty signature file', () => {
    expect(refusal(() => verifyBundle(bytes, undefined, trust)).code).toBe('E_SIGNATURE_MISSING');
    expect(refusal(() => verifyBundle(bytes, { version: 1, contentHash: hash, signatures: [] }, trust)).code).toBe('E_SIGNATURE_MISSING');
    expect(refusal(() => verifyBundle(bytes, '{"version":1', trust)).code).toBe('E_SIGNATURE_FILE_INVALID');
  });

  it('refuses a key trusted for another publisher than the manifest names', () => {
    const result = refusal(() => verifyBundle(bytes, signed(publisherKey), trustFor([publisherKey, 'acme'])));
    expect(result.code).toBe('E_SIGNATURE_PUBLISHER_MISMATCH');
    expect(result.message).toContain('"example"');
  });

  it('adds signatures only to a signature file for the same hash', () => {
    const otherHash = contentHashOf(new TextEncoder().encode('another bundle'));
    expect(refusal(() => addSignature(signed(publisherKey), otherHash, signContentHash(otherHash, publisherKey))).code).toBe('E_SIGNATURE_FILE_INVALID');
    const resigned = addSignature(signed(publisherKey), hash, signContentHash(hash, publisherKey));
    expect(resigned.signatures).toHaveLength(1);
  });

  it('accepts any one trusted signature among several', () => {
    const file = addSignature(signed(strangerKey), hash, signContentHash(hash, publisherKey));
    expect(file.signatures).toHaveLength(2);
    expect(verifyBundle(bytes, file, trust).signer.keyId).toBe(publisherKey.keyId);
  });
});

describe('trust bundle', () => {
  it('loads from a path or inline JSON', () => {
    const inline = JSON.stringify({ version: 1, keys: [{ keyId: publisherKey.keyId, publisher: 'example', publicKey: publisherKey.publicKey }] });
    expect(loadTrustBundle(inline).keys[0].publisher).toBe('example');
  });

  it('refuses a key id that is not derived from its public key', () => {
    const result = refusal(() => parseTrustBundle({ version: 1, keys: [{ keyId: strangerKey.keyId, publisher: 'example', publicKey: publisherKey.publicKey }] }));
    expect(result.code).toBe('E_TRUST_BUNDLE_INVALID');
    expect(result.message).toContain('/keys/0/keyId');
    expect(keyIdOf(Buffer.from(publisherKey.publicKey, 'base64'))).toBe(publisherKey.keyId);
  });

  it('refuses a missing file and bad fields with a sentence naming them', () => {
    expect(refusal(() => loadTrustBundle('/nonexistent/trust.json')).message).toContain('/nonexistent/trust.json');
    expect(refusal(() => parseTrustBundle({ version: 2, keys: [] })).message).toContain('/version');
    expect(refusal(() => parseTrustBundle({ version: 1, keys: [{ keyId: 'x', publicKey: 'short' }] })).message).toContain('/keys/0/publisher');
  });
});
