import type { BundleSigner, TrustBundle } from '../../../../lib/signing/index.ts';
import type { SignatureView } from '../../../web/console/view-models.ts';

/**
 * Whether a published version's signer is trusted by this host today. Every version was verified
 * when it was published, and is verified again (bytes and all) on install; this is the cheap
 * check for the catalog: is the signing key (or Sigstore identity) still in the trust bundle?
 */
export function signatureOf(signer: BundleSigner, trust: () => TrustBundle): SignatureView {
  const base = { publisher: signer.publisher, keyId: signer.keyId };
  let bundle: TrustBundle;
  try {
    bundle = trust();
  } catch {
    return { ...base, trusted: undefined };
  }
  if (signer.keyId === 'sigstore:key') return { ...base, trusted: (bundle.sigstore?.keys ?? []).some((key) => key.publisher === signer.publisher) };
  if (signer.keyId.startsWith('sigstore:')) {
    const identity = signer.keyId.slice('sigstore:'.length);
    return { ...base, trusted: (bundle.sigstore?.identities ?? []).some((entry) => entry.identity === identity && entry.publisher === signer.publisher) };
  }
  return { ...base, trusted: bundle.keys.some((key) => key.keyId === signer.keyId && key.publisher === signer.publisher) };
}
