import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlgaError } from '../errors/index.ts';
import { contentHashOf, hexOfContentHash, isContentHash, type ContentHash } from './hash.ts';

/**
 * The content-addressed bundle folder shared by the host store and the runner cache:
 * `<dir>/sha256/<hex>.algabundle` and `<dir>/sha256/<hex>.sig.json`. Writes are atomic.
 */

export function storedBundlePath(dir: string, hash: string): string {
  return join(dir, 'sha256', `${hexOf(hash)}.algabundle`);
}

export function storedSignaturePath(dir: string, hash: string): string {
  return join(dir, 'sha256', `${hexOf(hash)}.sig.json`);
}

/** Stores bundle bytes under their own hash (checked against `expectedHash` when given). */
export function storeBundle(dir: string, bytes: Uint8Array, expectedHash?: string): ContentHash {
  const hash = contentHashOf(bytes);
  if (expectedHash !== undefined && expectedHash !== hash) {
    throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `Expected ${expectedHash}, got ${hash}.`);
  }
  writeAtomically(storedBundlePath(dir, hash), bytes);
  return hash;
}

/**
 * Stores a bundle and its signature file without blocking the event loop: for bytes whose hash the
 * caller has just computed from them (after verification), so they are not hashed again.
 */
export async function storeHashedBundle(dir: string, hash: string, bytes: Uint8Array, signatureFile: unknown): Promise<void> {
  await writeAtomicallyAsync(storedBundlePath(dir, hash), bytes);
  await writeAtomicallyAsync(storedSignaturePath(dir, hash), new TextEncoder().encode(signatureText(signatureFile)));
}

/** Stores a signature file (JSON value or its text) beside the bundle it signs. */
export function storeSignatureFile(dir: string, hash: string, signatureFile: unknown): void {
  writeAtomically(storedSignaturePath(dir, hash), new TextEncoder().encode(signatureText(signatureFile)));
}

function signatureText(signatureFile: unknown): string {
  return typeof signatureFile === 'string' ? signatureFile : `${JSON.stringify(signatureFile, null, 2)}\n`;
}

export function readStoredBundle(dir: string, hash: string): Uint8Array | undefined {
  return readIfPresent(storedBundlePath(dir, hash));
}

/** The parsed signature file, or undefined when there is none. */
export function readStoredSignatureFile(dir: string, hash: string): unknown {
  const bytes = readIfPresent(storedSignaturePath(dir, hash));
  if (!bytes) return undefined;
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new AlgaError('E_SIGNATURE_FILE_INVALID', `${storedSignaturePath(dir, hash)} is not JSON.`);
  }
}

export function hasStoredBundle(dir: string, hash: string): boolean {
  return existsSync(storedBundlePath(dir, hash));
}

/** Hashes of every stored bundle. */
export function listStoredBundles(dir: string): ContentHash[] {
  let names: string[];
  try {
    names = readdirSync(join(dir, 'sha256'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return names
    .filter((name) => /^[0-9a-f]{64}\.algabundle$/.test(name))
    .map((name) => `sha256:${name.slice(0, 64)}` as ContentHash)
    .sort();
}

export function removeStoredBundle(dir: string, hash: string): void {
  rmSync(storedBundlePath(dir, hash), { force: true });
  rmSync(storedSignaturePath(dir, hash), { force: true });
}

function hexOf(hash: string): string {
  if (!isContentHash(hash)) throw new AlgaError('E_BUNDLE_HASH_INVALID', `Got ${JSON.stringify(hash)}.`);
  return hexOfContentHash(hash);
}

function readIfPresent(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function writeAtomically(path: string, bytes: Uint8Array): void {
  mkdirSync(join(path, '..'), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    writeFileSync(temporary, bytes, { flush: true, mode: 0o600 });
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw error;
  }
}

async function writeAtomicallyAsync(path: string, bytes: Uint8Array): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, bytes, { flush: true });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
