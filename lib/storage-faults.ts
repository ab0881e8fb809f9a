import { constants } from 'node:os';
import { statfsSync } from 'node:fs';
import { AlgaError } from './errors/index.ts';

/**
 * Telling a failed write on a full (or failing) disk apart from every other error, so the host,
 * the runner and the CLI answer with the catalog's E_STORAGE_FULL / E_STORAGE_FAILED instead of
 * E_INTERNAL, and background writers can defer their work instead of crashing.
 *
 * Node's fs errors carry a string code (`ENOSPC`); lmdb-js's carry the errno as a number (`5`
 * for EIO, which is what a commit on a full tmpfs reports) or LMDB's own MDB_MAP_FULL.
 */

export type StorageFault = 'full' | 'failed';

const mdbMapFull = -30792;
const fullCodes = new Set<string | number>(['ENOSPC', 'EDQUOT', constants.errno.ENOSPC, constants.errno.EDQUOT, mdbMapFull]);
const failedCodes = new Set<string | number>(['EIO', 'EROFS', constants.errno.EIO, constants.errno.EROFS]);

/**
 * Free space kept back on the data folder's file system. LMDB writes are refused up front below
 * it (lib/private-lmdb.ts): lmdb-js 3.5 corrupts its heap while reporting a page write the disk
 * refused (it formats the message into a 100-byte buffer that longer numbers overrun; seen as
 * "corrupted size vs. prev_size" and an abort on a full tmpfs), so a store write must not reach a
 * full disk. Below it, an I/O error on a write also counts as a full disk.
 */
export const diskReserveBytes = 32 * 1024 * 1024;

/** Free bytes for unprivileged writers on the file system holding `path`, or undefined when it cannot be read. */
export function freeBytesAt(path: string): number | undefined {
  try {
    const stats = statfsSync(path);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

function codeOf(error: unknown): string | number | undefined {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

/**
 * 'full' for ENOSPC, EDQUOT, MDB_MAP_FULL, and an I/O error while the file system at `path` is
 * (nearly) out of space; 'failed' for any other I/O error or a read-only file system; undefined
 * for everything else. Looks through `cause` chains.
 */
export function storageFaultOf(error: unknown, path?: string): StorageFault | undefined {
  for (let current = error, depth = 0; current && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    if (current instanceof AlgaError) {
      if (current.code === 'E_STORAGE_FULL') return 'full';
      if (current.code === 'E_STORAGE_FAILED') return 'failed';
    }
    const code = codeOf(current);
    if (code === undefined) continue;
    if (fullCodes.has(code)) return 'full';
    if (failedCodes.has(code)) {
      const free = path === undefined ? undefined : freeBytesAt(path);
      return free !== undefined && free < diskReserveBytes ? 'full' : 'failed';
    }
  }
  return undefined;
}

/** The catalog error for a storage fault (`E_STORAGE_FULL` 507 or `E_STORAGE_FAILED` 500), or undefined when `error` is not one. */
export function storageErrorOf(error: unknown, path?: string): AlgaError | undefined {
  if (error instanceof AlgaError && (error.code === 'E_STORAGE_FULL' || error.code === 'E_STORAGE_FAILED')) return error;
  const fault = storageFaultOf(error, path);
  // No detail: the underlying message names files under the data folder. The cause keeps it for the log.
  return fault && new AlgaError(fault === 'full' ? 'E_STORAGE_FULL' : 'E_STORAGE_FAILED', undefined, { cause: error });
}

/**
 * Throws E_STORAGE_FULL unless the file system at `path` has room for `bytes` more and the
 * reserve besides. A file system whose free space cannot be read is let through.
 */
export function ensureRoom(path: string, bytes = 0): void {
  const free = freeBytesAt(path);
  if (free !== undefined && free - bytes < diskReserveBytes) {
    throw new AlgaError('E_STORAGE_FULL', undefined, { cause: Object.assign(new Error(`${free} bytes free at ${path}; ${bytes} more and a reserve of ${diskReserveBytes} are needed`), { code: 'ENOSPC' }) });
  }
}
