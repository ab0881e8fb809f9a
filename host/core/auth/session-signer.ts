import { Signer } from '@fastify/cookie';
import type { Keyring } from '../secrets/keyring.ts';

/**
 * The session cookie's signer (@fastify/cookie's), following the live session keyring: the
 * active key signs, every key in the ring verifies, and a cookie verified by an older key comes
 * back `renew: true` so the host re-signs it (auth/index.ts). After `alga-host rotate-key session`
 * no one is signed out; the old key can be retired once the sessions it signed have expired or
 * been re-signed.
 */
export function sessionCookieSigner(keyring: () => Keyring<Buffer>): Pick<Signer, 'sign' | 'unsign'> {
  let ring: Keyring<Buffer> | undefined;
  let signer: Signer | undefined;
  const current = (): Signer => {
    const now = keyring();
    if (now !== ring || !signer) {
      ring = now;
      // base64 text, as the secret was always given to the cookie plugin: cookies signed before keyrings still verify.
      signer = new Signer(now.entries.map((entry) => entry.key.toString('base64')));
    }
    return signer;
  };
  return {
    sign: (value) => current().sign(value),
    unsign: (value) => current().unsign(value),
  };
}
