import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { storageFaultOf } from '../../lib/storage-faults.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { installedVersion } from '../../lib/package-version.ts';

const jcoVersion = installedVersion('@bytecodealliance/jco-transpile') ?? 'unknown';
const guestName = 'guest';

/** A component transpiled by jco: the glue module on disk and its core wasm modules. */
export interface TranspiledComponent {
  /** Absolute path of the generated ES module exporting `instantiate`. */
  modulePath: string;
  /** Core wasm module bytes, by the name the glue asks `getCoreModule` for. */
  coreModules: Map<string, Uint8Array>;
  /** Interfaces the component imports, without versions (`wasi:io/streams`, `alga:extension/storage`). */
  imports: string[];
  /** True when the files came from the disk cache. */
  cached: boolean;
}

interface CacheIndex {
  imports: string[];
  coreModules: string[];
}

/**
 * Transpiles a component once per content hash (and jco version) into
 * `<cacheDir>/<sha256>-jco<version>/`; later loads, in this process or the next, read the files.
 */
export async function transpileCached(component: Uint8Array, cacheDir: string): Promise<TranspiledComponent> {
  const componentHash = createHash('sha256').update(component).digest('hex');
  const folder = join(cacheDir, `${componentHash}-jco${jcoVersion}`);
  const indexPath = join(folder, 'index.json');
  if (existsSync(indexPath)) {
    const index = JSON.parse(readFileSync(indexPath, 'utf8')) as CacheIndex;
    const coreModules = new Map(index.coreModules.map((name) => [name, new Uint8Array(readFileSync(join(folder, name)))]));
    return { modulePath: join(folder, `${guestName}.mjs`), coreModules, imports: index.imports, cached: true };
  }

  let result;
  try {
    // Loaded only when something must be transpiled: a runner whose cache is warm starts without it.
    const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
    result = await transpileBytes(component, { name: guestName, instantiation: { tag: 'async' }, noComponentErrorWrapping: true });
  } catch (error) {
    throw new AlgaError('E_RUNNER_TRANSPILE_FAILED', String((error as Error)?.message ?? error).split('\n')[0], { cause: error });
  }
  const coreModules = new Map<string, Uint8Array>();
  for (const [name, bytes] of Object.entries(result.files)) {
    if (name.endsWith('.wasm')) coreModules.set(name, bytes);
  }
  const imports = result.imports.map((name) => name.replace(/@[^/@]+$/, ''));
  const scratch = `${folder}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(scratch, { recursive: true, mode: 0o700 });
    writeFileSync(join(scratch, `${guestName}.mjs`), result.files[`${guestName}.js`]);
    for (const [name, bytes] of coreModules) writeFileSync(join(scratch, name), bytes);
    writeFileSync(join(scratch, 'index.json'), JSON.stringify({ imports, coreModules: [...coreModules.keys()] } satisfies CacheIndex));
  } catch (error) {
    // A half-written scratch folder would only use up the space that is missing.
    rmSync(scratch, { recursive: true, force: true });
    if (storageFaultOf(error, cacheDir)) throw new AlgaError('E_RUNNER_STORAGE_FULL', undefined, { cause: error });
    throw error;
  }
  try {
    renameSync(scratch, folder);
  } catch {
    rmSync(scratch, { recursive: true, force: true }); // another process finished first
  }
  return { modulePath: join(folder, `${guestName}.mjs`), coreModules, imports, cached: false };
}
