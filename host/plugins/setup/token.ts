import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { writePrivateFile } from '../../core/secrets/files.ts';

/** The setup token: 32 random bytes, base64url. Only its SHA-256 is ever stored. */

export function mintSetupToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashSetupToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time comparison of a presented token against the stored hash. */
export function tokenMatches(presented: unknown, storedHash: string | undefined): boolean {
  const expected = Buffer.from(storedHash ?? '0'.repeat(64), 'hex');
  const actual = Buffer.from(hashSetupToken(typeof presented === 'string' ? presented : ''), 'hex');
  return timingSafeEqual(actual, expected) && storedHash !== undefined && typeof presented === 'string';
}

export function setupTokenPath(dataDir: string): string {
  return join(dataDir, 'setup-token');
}

export function writeSetupTokenFile(dataDir: string, token: string): void {
  writePrivateFile(setupTokenPath(dataDir), `${token}\n`, true);
}

export function removeSetupTokenFile(dataDir: string): void {
  rmSync(setupTokenPath(dataDir), { force: true });
}
