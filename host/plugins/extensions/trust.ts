import { AlgaError } from '../../../lib/errors/index.ts';
import { TrustBundleSource, type TrustBundle } from '../../../lib/signing/index.ts';

/**
 * The trust bundle (SIGNING_TRUST_BUNDLE, else `<data>/trust-bundle.json`), read again whenever its
 * file changes, so `alga-host trust add|remove` applies to publish and install at once. Without
 * one, nothing can be published or installed.
 */
export function trustBundleSource(value: string | undefined): () => TrustBundle {
  const source = new TrustBundleSource(value);
  return () => {
    const bundle = source.current();
    if (!bundle) throw new AlgaError('E_TRUST_BUNDLE_MISSING', source.path ? `(${source.path} does not exist.)` : undefined);
    return bundle;
  };
}
