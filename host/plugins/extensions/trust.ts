import { AlgaError } from '../../../lib/errors/index.ts';
import { loadTrustBundle, type TrustBundle } from '../../../lib/signing/index.ts';

/** The trust bundle from SIGNING_TRUST_BUNDLE, loaded once; without it nothing can be published or installed. */
export function trustBundleSource(value: string | undefined): () => TrustBundle {
  let loaded: TrustBundle | undefined;
  return () => {
    if (!value) throw new AlgaError('E_TRUST_BUNDLE_MISSING');
    loaded ??= loadTrustBundle(value);
    return loaded;
  };
}
