import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import nacl from 'tweetnacl';
import { AlgaError } from '../errors/index.ts';

/** An Ed25519 signing key as stored in a key file (secretKey is nacl's 64-byte form). */
export interface SigningKey {
  version: 1;
  algorithm: 'ed25519';
  keyId: string;
  publicKey: string;
  secretKey: string;
}

/** The key id of a public key: `ed25519:` + the first 16 bytes of its SHA-256, hex. */
export function keyIdOf(publicKey: Uint8Array): string {
  return `ed25519:${createHash('sha256').update(publicKey).digest('hex').slice(0, 32)}`;
}

export function generateSigningKey(): SigningKey {
  const pair = nacl.sign.keyPair();
  return {
    version: 1,
    algorithm: 'ed25519',
    keyId: keyIdOf(pair.publicKey),
    publicKey: Buffer.from(pair.publicKey).toString('base64'),
    secretKey: Buffer.from(pair.secretKey).toString('base64'),
  };
}

/** Writes a new key file with mode 0600 (its folder 0700 when created); never overwrites an existing file. */
export function writeKeyFile(path: string, key: SigningKey): void {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    fd = openSync(path, 'wx', 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && existsSync(path)) throw new AlgaError('E_KEY_EXISTS', `Path: ${path}.`);
    throw new AlgaError('E_FILE_UNWRITABLE', `${path} (${code ?? (error as Error).message}).`);
  }
  try {
    writeSync(fd, `${JSON.stringify(key, null, 2)}\n`);
  } finally {
    closeSync(fd);
  }
}

export function readKeyFile(path: string): SigningKey {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AlgaError('E_KEY_INVALID', `${path}: ${(error as Error).message}`);
  }
  return parseSigningKey(value, path);
}

export function parseSigningKey(value: unknown, label = 'key'): SigningKey {
  const key = value as Partial<SigningKey> | null;
  if (!key || key.version !== 1 || key.algorithm !== 'ed25519' || typeof key.secretKey !== 'string' || typeof key.publicKey !== 'string') {
    throw new AlgaError('E_KEY_INVALID', `${label} is not an alga-ext Ed25519 key file (version 1).`);
  }
  const secretKey = decodeBase64(key.secretKey, nacl.sign.secretKeyLength, `${label}: secretKey`);
  const publicKey = decodeBase64(key.publicKey, nacl.sign.publicKeyLength, `${label}: publicKey`);
  if (!Buffer.from(secretKey.subarray(32)).equals(Buffer.from(publicKey))) {
    throw new AlgaError('E_KEY_INVALID', `${label}: publicKey does not belong to secretKey.`);
  }
  if (key.keyId !== keyIdOf(publicKey)) throw new AlgaError('E_KEY_INVALID', `${label}: keyId does not match the public key.`);
  return key as SigningKey;
}

/** Decodes strict base64 of an exact length, or throws E_KEY_INVALID naming `label`. */
export function decodeBase64(text: string, length: number, label: string): Uint8Array {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length !== length || bytes.toString('base64') !== text) {
    throw new AlgaError('E_KEY_INVALID', `${label} must be ${length} bytes of base64.`);
  }
  return new Uint8Array(bytes);
}
