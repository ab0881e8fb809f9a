import { chmodSync, closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { AlgaError } from '../../../lib/errors/index.ts';

/** Creates a folder only its owner can enter (0700), including missing parents. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

function writeTempFile(finalPath: string, content: string | Uint8Array): string {
  const temp = join(dirname(finalPath), `.${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  chmodSync(temp, 0o600);
  return temp;
}

/**
 * Writes a 0600 file atomically. Returns false (and writes nothing) when the file exists and
 * `overwrite` is not set, so two processes racing to create a secret never replace each other's.
 */
export function writePrivateFile(path: string, content: string | Uint8Array, overwrite = false): boolean {
  ensurePrivateDir(dirname(path));
  const temp = writeTempFile(path, content);
  try {
    if (overwrite) {
      renameSync(temp, path);
      return true;
    }
    try {
      linkSync(temp, path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  } finally {
    rmSync(temp, { force: true });
  }
}

/** True when the file's mode lets group or others read or write it. */
export function isExposed(path: string): boolean {
  if (process.platform === 'win32') return false;
  return (statSync(path).mode & 0o077) !== 0;
}

/** Reads a secret file, refusing one that other users can read. `label` names the secret in errors. */
export function readPrivateFile(path: string, label: string): string | undefined {
  if (!existsSync(path)) return undefined;
  if (isExposed(path)) {
    throw new AlgaError('E_SECRET_FILE_MODE', `The ${label} (${path}) has mode ${(statSync(path).mode & 0o777).toString(8)}; run \`chmod 600 ${path}\`.`);
  }
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new AlgaError('E_SECRET_UNREADABLE', `The ${label} (${path}) cannot be read by this user (uid ${process.getuid?.() ?? '?'}); \`chown\` it to the user that runs the host.`);
    }
    throw error;
  }
}
