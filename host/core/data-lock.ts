import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * One live host per data folder. `<data>/host.lock` names the owner (pid, its start time, a token);
 * a second host finds the owner alive and stops with E_HOST_DATA_IN_USE before it touches anything
 * (so it never starts a second runner or removes the first one's pid file). A lock whose owner is
 * gone — killed with -9, or a pid since reused by another process — is taken over.
 */
export interface DataFolderLock {
  path: string;
  /** Removes the lock if it is still this host's. */
  release(): void;
}

interface LockOwner {
  pid: number;
  /** Kernel start time of the process (Linux), so a reused pid is not mistaken for the owner. */
  processStart?: string;
  host: string;
  token: string;
  since: string;
}

/** A lock file this young and unreadable is being written by its owner right now. */
const writingGraceMs = 5_000;

export function lockDataFolder(dataDir: string): DataFolderLock {
  const path = join(dataDir, 'host.lock');
  const owner: LockOwner = { pid: process.pid, processStart: processStartOf(process.pid), host: hostname(), token: randomUUID(), since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(owner)}\n`, { flag: 'wx', mode: 0o600 });
      return { path, release: () => releaseIfOurs(path, owner.token) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new AlgaError('E_HOST_CONFIG_INVALID', `The data folder lock ${path} cannot be written (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}).`, { cause: error });
      }
    }
    const existing = readOwner(path);
    if (existing === 'gone') continue;
    if (existing === 'unreadable') {
      if (ageMs(path) < writingGraceMs) throw inUse(path, undefined);
      takeOver(path, undefined);
      continue;
    }
    if (isAlive(existing)) throw inUse(path, existing);
    takeOver(path, existing.token);
  }
  throw inUse(path, undefined);
}

function inUse(path: string, owner: LockOwner | undefined): AlgaError {
  const who = owner ? `process ${owner.pid} on ${owner.host}, since ${owner.since}` : 'another process';
  return new AlgaError('E_HOST_DATA_IN_USE', `${path} is held by ${who}.`);
}

/** Moves a stale lock aside; if what was moved is not the stale lock read before (someone took over meanwhile), it goes back. */
function takeOver(path: string, staleToken: string | undefined): void {
  const aside = `${path}.stale-${process.pid}-${randomUUID()}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // gone already: the next attempt creates it
  }
  const moved = readOwner(aside);
  const sameLock = staleToken === undefined ? moved === 'unreadable' : typeof moved === 'object' && moved.token === staleToken;
  if (!sameLock) {
    try {
      linkSync(aside, path); // put the live lock back, unless a new one is there already
    } catch {
      // a newer lock is in place; it decides
    }
  }
  rmSync(aside, { force: true });
}

function releaseIfOurs(path: string, token: string): void {
  const owner = readOwner(path);
  if (typeof owner === 'object' && owner.token === token) rmSync(path, { force: true });
}

function readOwner(path: string): LockOwner | 'gone' | 'unreadable' {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'gone' : 'unreadable';
  }
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    if (Number.isInteger(owner.pid) && typeof owner.token === 'string') return owner as LockOwner;
  } catch {
    // half-written or not ours
  }
  return 'unreadable';
}

function ageMs(path: string): number {
  try {
    return Date.now() - statSync(path).mtimeMs;
  } catch {
    return Infinity;
  }
}

function isAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true; // another machine's host on a shared folder: never presume it dead
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStartOf(owner.pid);
  return owner.processStart === undefined || start === undefined || start === owner.processStart;
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); undefined where there is no /proc. */
function processStartOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
