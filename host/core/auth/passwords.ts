import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * Password hashing with scrypt at the OWASP parameters (N=2^17, r=8, p=1, 32-byte key, 16-byte
 * salt). The stored form names its parameters, so they can be raised later without breaking
 * existing hashes: `scrypt$<N>$<r>$<p>$<salt b64>$<hash b64>`.
 */

const N = 2 ** 17;
const r = 8;
const p = 1;
const keyLength = 32;
export const MIN_PASSWORD_LENGTH = 12;

function derive(password: string, salt: Buffer, cost: number, blockSize: number, parallel: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLength, { N: cost, r: blockSize, p: parallel, maxmem: 256 * cost * blockSize * parallel }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export function checkPasswordLength(password: unknown): asserts password is string {
  if (typeof password !== 'string' || [...password].length < MIN_PASSWORD_LENGTH) throw new AlgaError('E_PASSWORD_TOO_SHORT');
}

export async function hashPassword(password: string): Promise<string> {
  checkPasswordLength(password);
  const salt = randomBytes(16);
  const key = await derive(password, salt, N, r, p);
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPasswordHash(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [cost, blockSize, parallel] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const expected = Buffer.from(parts[5], 'base64');
  const actual = await derive(typeof password === 'string' ? password : '', salt, cost, blockSize, parallel);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** A hash of a random password, verified against when the user does not exist so timing reveals nothing. */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(randomBytes(24).toString('base64'));
  return decoyHash;
}
