import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A lock older than this belongs to a build that died; componentize-js takes ~10 s. */
const staleLockMs = 10 * 60_000;
const pollMs = 200;

export interface CachedComponent {
  component: Uint8Array;
  /** False when this call ran `produce`. */
  cached: boolean;
}

/**
 * Components by source hash in `cacheDir`. At most one `produce` runs per hash at a time, across
 * processes (a lock folder next to the entry): concurrent builds of the same source wait for it
 * and read its result instead of running componentize-js again.
 */
export async function cachedComponent(cacheDir: string, sourceHash: string, produce: () => Promise<Uint8Array>, onWait?: () => void): Promise<CachedComponent> {
  const entry = join(cacheDir, `${sourceHash}.wasm`);
  const lock = join(cacheDir, `${sourceHash}.lock`);
  let waiting = false;
  for (;;) {
    if (existsSync(entry)) return { component: readFileSync(entry), cached: true };
    mkdirSync(cacheDir, { recursive: true });
    if (!tryLock(lock)) {
      if (!waiting) onWait?.();
      waiting = true;
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      continue;
    }
    try {
      if (existsSync(entry)) return { component: readFileSync(entry), cached: true };
      const component = await produce();
      writeAtomically(entry, component);
      return { component, cached: false };
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  try {
    if (Date.now() - statSync(lock).mtimeMs > staleLockMs) rmSync(lock, { recursive: true, force: true });
  } catch {
    // Released meanwhile: the next round takes it.
  }
  return false;
}

export function writeAtomically(path: string, bytes: Uint8Array): void {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(temporary, bytes);
  renameSync(temporary, path);
}
