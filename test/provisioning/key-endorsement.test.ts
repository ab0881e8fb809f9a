import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { endorseKey, withEndorsedKeys } from '../../host/plugins/license/key-endorsement.ts';
import { fromJwks, toJwks } from '../../host/plugins/license/license-token.ts';

/** An appliance that pinned the old license key takes a rotated-in key only when a key it trusts endorses it. */
describe('license signing key endorsements', () => {
  const key = (keyId: string) => ({ keyId, ...generateKeyPairSync('ed25519') });
  const k1 = key('lk-1');
  const k2 = key('lk-2');
  const k3 = key('lk-3');
  const pinned = fromJwks(toJwks([k1]));

  it('accepts a chain of endorsements from a pinned key (k1 → k2 → k3), even when k1 is no longer published', () => {
    const jwks = toJwks([
      { ...k3, endorsement: endorseKey(k3, k2) },
      { ...k2, endorsement: endorseKey(k2, k1) },
    ]);
    const { keys, added } = withEndorsedKeys(pinned, JSON.parse(JSON.stringify(jwks)));
    expect(added.sort()).toEqual(['lk-2', 'lk-3']);
    expect(Object.keys(keys).sort()).toEqual(['lk-1', 'lk-2', 'lk-3']);
  });

  it('refuses a key nobody it trusts endorses, an endorsement of another key, and a self-endorsement', () => {
    const stranger = key('lk-evil');
    const other = key('lk-other');
    const jwks = toJwks([
      { ...stranger, endorsement: endorseKey(stranger, stranger) },
      { ...other, endorsement: endorseKey(k2, k1) },
      { ...k2 },
    ]);
    expect(withEndorsedKeys(pinned, JSON.parse(JSON.stringify(jwks))).added).toEqual([]);
  });
});
