import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { AlgaError } from '../errors/index.ts';

/** Reads a file the user named, turning a missing or unreadable file into a catalog error. */
export function readUserFile(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new AlgaError('E_FILE_UNREADABLE', `${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
}

/** The text of a file, or undefined when it does not exist. */
export function readOptionalText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new AlgaError('E_FILE_UNREADABLE', `${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
}

/**
 * Writes a file the user named (creating its folder): all of it or, on failure, nothing —
 * the bytes go to a temporary file that is renamed over `path`. Failures are E_FILE_UNWRITABLE.
 */
export function writeUserFile(path: string, bytes: Uint8Array | string): void {
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(temporary, bytes);
    renameSync(temporary, path);
  } catch (error) {
    removeQuietly(temporary);
    throw new AlgaError('E_FILE_UNWRITABLE', `${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`);
  }
}

function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // Its folder cannot hold it (e.g. the folder is a file): nothing was written there.
  }
}
