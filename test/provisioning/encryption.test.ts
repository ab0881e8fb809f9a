import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decryptString, encryptValue, isEncryptedValue, keyIdOf, type EncryptionKeys } from '../../host/core/secrets/encryption.ts';
import { countKeyIds, reencryptValue } from '../../host/core/secrets/reencrypt.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

const keyring = (...ids: string[]): EncryptionKeys => ({ activeKeyId: ids[0], keys: Object.fromEntries(ids.map((id) => [id, randomBytes(32)])) });

describe('encryption at rest', () => {
  it('every encrypted value carries its key id and round-trips', () => {
    const ring = keyring('ek-a');
    const sealed = encryptValue('sk-provider-key', ring);
    expect(isEncryptedValue(sealed)).toBe(true);
    expect(keyIdOf(sealed)).toBe('ek-a');
    expect(sealed).not.toContain('sk-provider-key');
    expect(decryptString(sealed, ring)).toBe('sk-provider-key');
    expect(encryptValue('sk-provider-key', ring)).not.toBe(sealed);
  });

  it('refuses an unknown key id, a wrong key, a swapped key id and tampering', () => {
    const ring = keyring('ek-a', 'ek-b');
    const sealed = encryptValue('value', ring);
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return isAlgaError(error) ? error.code : 'other';
      }
      return 'none';
    };
    expect(codeOf(() => decryptString(sealed, keyring('ek-other')))).toBe('E_SECRET_UNKNOWN_KEY');
    expect(codeOf(() => decryptString(sealed, { activeKeyId: 'ek-a', keys: { 'ek-a': randomBytes(32) } }))).toBe('E_SECRET_DECRYPT_FAILED');
    const swapped = sealed.replace(':ek-a:', ':ek-b:');
    expect(codeOf(() => decryptString(swapped, { activeKeyId: 'ek-b', keys: { 'ek-b': ring.keys['ek-a'] } }))).toBe('E_SECRET_DECRYPT_FAILED');
    const body = sealed.split(':').pop()!;
    const i = Math.floor(body.length / 2);
    const tampered = sealed.slice(0, -body.length) + body.slice(0, i) + (body[i] === 'A' ? 'B' : 'A') + body.slice(i + 1);
    expect(codeOf(() => decryptString(tampered, ring))).toBe('E_SECRET_DECRYPT_FAILED');
  });

  it('re-encrypts nested values under the active key and reports what it cannot decrypt', () => {
    const old = keyring('ek-old');
    const lost = keyring('ek-lost');
    const record = { provider: { key: encryptValue('p', old) }, list: [encryptValue('q', old), 'plain'], orphan: encryptValue('r', lost), n: 3 };
    const ring: EncryptionKeys = { activeKeyId: 'ek-new', keys: { 'ek-old': old.keys['ek-old'], 'ek-new': randomBytes(32) } };
    const result = reencryptValue(record, ring);
    expect(result.changed).toBe(2);
    expect(result.failures).toEqual([expect.objectContaining({ path: '$.orphan', keyId: 'ek-lost' })]);
    const value = result.value as typeof record;
    expect(keyIdOf(value.provider.key)).toBe('ek-new');
    expect(decryptString(value.list[0], ring)).toBe('q');
    expect(value.list[1]).toBe('plain');
    expect(Object.fromEntries(countKeyIds(value))).toEqual({ 'ek-new': 2, 'ek-lost': 1 });
  });
});
