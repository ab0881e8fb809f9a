import type { KeyObject } from 'node:crypto';
import { ENDORSEMENT_MEMBER, fromJwks, signCompactJws, verifyCompactJws, type SigningKey, type VerificationKeys } from './license-token.ts';

/**
 * License signing key rotation without breaking the appliances' pin. An appliance trusts the
 * key set it pinned at registration (or ALGA_LICENSE_PUBLIC_KEYS). When the control plane
 * rotates, the key that was active signs the new one: a compact JWS over the new key's id and
 * public key, published in the JWKS as the new key's `x-alga-endorsement`. An appliance that
 * meets an unknown `kid` fetches the JWKS and adds a key only when a key it already trusts
 * endorses it (chains too: k1 → k2 → k3). A key nobody it trusts vouches for stays unknown.
 */

const TYP = 'alga-key-endorsement+jws';

export function endorseKey(newKey: { keyId: string; publicKey: KeyObject }, by: SigningKey, now = Date.now()): string {
  const { x } = newKey.publicKey.export({ format: 'jwk' });
  return signCompactJws({ kid: newKey.keyId, x, iat: Math.floor(now / 1000) }, by, TYP);
}

/** The trusted keys plus every key in `jwks` that a trusted key endorses (transitively). */
export function withEndorsedKeys(trusted: VerificationKeys, jwks: unknown): { keys: VerificationKeys; added: string[] } {
  const keys: VerificationKeys = { ...trusted };
  const published = fromJwks(jwks);
  const list = ((jwks as { keys?: unknown })?.keys ?? []) as Array<Record<string, unknown>>;
  const added: string[] = [];
  for (let progress = true; progress; ) {
    progress = false;
    for (const jwk of list) {
      const kid = jwk?.kid;
      const endorsement = jwk?.[ENDORSEMENT_MEMBER];
      if (typeof kid !== 'string' || Object.hasOwn(keys, kid) || !Object.hasOwn(published, kid) || typeof endorsement !== 'string') continue;
      try {
        const { header, payload } = verifyCompactJws(endorsement, keys);
        if (header.typ !== TYP || payload.kid !== kid || payload.x !== jwk.x) continue;
      } catch {
        continue;
      }
      keys[kid] = published[kid];
      added.push(kid);
      progress = true;
    }
  }
  return { keys, added };
}
