import { describe, expect, it } from 'vitest';
import { contentHashOf, packBundle } from '../../lib/bundle/index.ts';
import { parseTrustBundle, verifyBundle, verifySigstoreBundle, type SignatureFile } from '../../lib/signing/index.ts';
import { example } from '../bundle/fixtures.ts';
import { createPrivateSigstore } from './private-sigstore.ts';

const hello = example('hello');
const bytes = packBundle({ manifest: hello.manifest, component: hello.component });
const hash = contentHashOf(bytes);
const sigstore = createPrivateSigstore();
const trust = parseTrustBundle({
  version: 1,
  keys: [],
  sigstore: { trustedRoot: sigstore.trustedRoot, keys: [{ publicKey: sigstore.signerPublicKeyPem, publisher: 'example' }] },
});

function fileWith(bundle: unknown): SignatureFile {
  return { version: 1, contentHash: hash, signatures: [], sigstore: [bundle] };
}

describe('verifyBundle with a Sigstore signature in the signature file', () => {
  it('verifies a bundle whose Sigstore signature is by a trusted key under the trust bundle\'s root', () => {
    const sigstoreBundle = sigstore.bundleFor(bytes);
    expect(verifySigstoreBundle({ bundle: sigstoreBundle, artifact: bytes, trustedRoot: sigstore.trustedRoot, key: sigstore.signerPublicKeyPem })).toBeDefined();
    const verified = verifyBundle(bytes, fileWith(sigstoreBundle), trust, { expectedHash: hash });
    expect(verified.signer).toEqual({ keyId: 'sigstore:key', publisher: 'example' });
  });

  it('refuses a Sigstore signature over other bytes', () => {
    const other = sigstore.bundleFor(new TextEncoder().encode('some other artifact'));
    expect(() => verifyBundle(bytes, fileWith(other), trust)).toThrow(expect.objectContaining({ code: 'E_SIGSTORE_INVALID' }));
  });

  it('refuses a Sigstore bundle logged to a log the trust bundle does not trust', () => {
    const stranger = createPrivateSigstore();
    const bundle = stranger.bundleFor(bytes);
    expect(() => verifyBundle(bytes, fileWith(bundle), trust)).toThrow(expect.objectContaining({ code: 'E_SIGSTORE_INVALID' }));
  });

  it('refuses a Sigstore signature when the trust bundle has no sigstore section', () => {
    const keysOnly = parseTrustBundle({ version: 1, keys: [] });
    expect(() => verifyBundle(bytes, fileWith(sigstore.bundleFor(bytes)), keysOnly)).toThrow(/no "sigstore" section/);
  });
});
