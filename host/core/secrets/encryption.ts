import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * Encryption at rest. Every encrypted value is a self-describing string that carries the id of
 * the key that sealed it:  `alga-enc:v1:<keyId>:<base64url(iv ‖ ciphertext ‖ tag)>`  (AES-256-GCM,
 * the prefix and key id are authenticated). Because values name their key, the keyring may hold
 * several keys at once and rotation can find and re-encrypt every value.
 */

export interface EncryptionKeys {
  activeKeyId: string;
  keys: Record<string, Buffer>;
}

const PREFIX = 'alga-enc:v1:';
const ENVELOPE = /^alga-enc:v1:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]+)$/;
const IV_BYTES = 12;
const TAG_BYTES = 16;

export function isEncryptedValue(value: unknown): value is string {
  return typeof value === 'string' && ENVELOPE.test(value);
}

/** The id of the key an encrypted value was sealed with. */
export function keyIdOf(value: string): string {
  const match = ENVELOPE.exec(value);
  if (!match) throw new AlgaError('E_SECRET_DECRYPT_FAILED', 'The value is not an alga-enc:v1 envelope.');
  return match[1];
}

/** Encrypts under the active key. */
export function encryptValue(plaintext: string | Uint8Array, keyring: EncryptionKeys): string {
  const keyId = keyring.activeKeyId;
  const key = keyring.keys[keyId];
  if (!key) throw new AlgaError('E_SECRET_UNKNOWN_KEY', `The active key id ${keyId} has no key.`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(PREFIX + keyId));
  const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext) : plaintext), cipher.final()]);
  return `${PREFIX}${keyId}:${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/** Decrypts with whichever key the value names; throws when that key is unknown or wrong. */
export function decryptValue(value: string, keyring: EncryptionKeys): Buffer {
  const match = ENVELOPE.exec(value);
  if (!match) throw new AlgaError('E_SECRET_DECRYPT_FAILED', 'The value is not an alga-enc:v1 envelope.');
  const [, keyId, payload] = match;
  const key = keyring.keys[keyId];
  if (!key) throw new AlgaError('E_SECRET_UNKNOWN_KEY', `Key id ${keyId} is not in the keyring.`);
  const raw = Buffer.from(payload, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new AlgaError('E_SECRET_DECRYPT_FAILED', `The value sealed with key ${keyId} is truncated.`);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(PREFIX + keyId));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
  } catch (cause) {
    throw new AlgaError('E_SECRET_DECRYPT_FAILED', `The value sealed with key ${keyId} does not authenticate under that key.`, { cause });
  }
}

export function decryptString(value: string, keyring: EncryptionKeys): string {
  return decryptValue(value, keyring).toString('utf8');
}

/** A fresh key id: the date it was made plus random hex, e.g. `ek-20261123-9f2c4a`. */
export function newKeyId(now = new Date()): string {
  const day = now.toISOString().slice(0, 10).replaceAll('-', '');
  return `ek-${day}-${randomBytes(3).toString('hex')}`;
}
