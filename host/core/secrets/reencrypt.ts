import { decryptValue, encryptValue, isEncryptedValue, keyIdOf, type EncryptionKeys } from './encryption.ts';

/**
 * Walks a stored value (a string, or JSON-shaped objects and arrays) and re-encrypts every
 * `alga-enc:v1` string in it under the keyring's active key. Values it cannot decrypt are left
 * as they are and reported.
 */

export interface ReencryptFailure {
  /** Where in the value: `$`, `$.provider.key`, `$[2]` … */
  path: string;
  keyId: string;
  reason: string;
}

export interface ReencryptResult {
  value: unknown;
  changed: number;
  failures: ReencryptFailure[];
}

function walk(value: unknown, path: string, keyring: EncryptionKeys, result: ReencryptResult): unknown {
  if (isEncryptedValue(value)) {
    const keyId = keyIdOf(value);
    if (keyId === keyring.activeKeyId) return value;
    try {
      const plaintext = decryptValue(value, keyring);
      result.changed++;
      return encryptValue(plaintext, keyring);
    } catch (error) {
      result.failures.push({ path, keyId, reason: (error as Error).message });
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((item, i) => walk(item, `${path}[${i}]`, keyring, result));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = walk(item, `${path}.${key}`, keyring, result);
    return out;
  }
  return value;
}

export function reencryptValue(value: unknown, keyring: EncryptionKeys): ReencryptResult {
  const result: ReencryptResult = { value, changed: 0, failures: [] };
  result.value = walk(value, '$', keyring, result);
  return result;
}

/** Counts encrypted strings in a value by the key id each names. */
export function countKeyIds(value: unknown, counts: Map<string, number> = new Map()): Map<string, number> {
  if (isEncryptedValue(value)) {
    const keyId = keyIdOf(value);
    counts.set(keyId, (counts.get(keyId) ?? 0) + 1);
  } else if (Array.isArray(value)) {
    for (const item of value) countKeyIds(item, counts);
  } else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) countKeyIds(item, counts);
  }
  return counts;
}
