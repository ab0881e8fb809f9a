import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';

let componentizeModule: Promise<typeof import('@bytecodealliance/componentize-js')> | undefined;

/**
 * componentize-js runs its own tools under the WASI shim, which (0.26) starts with no
 * preopens; they need the build machine's filesystem. Guests never get this shim.
 */
function loadComponentize(): Promise<typeof import('@bytecodealliance/componentize-js')> {
  componentizeModule ??= (async () => {
    const { _setPreopens } = await import('@bytecodealliance/preview2-shim/filesystem');
    // Node's shim takes a host path per guest path; its published types describe the browser shim.
    _setPreopens({ '/': '/' } as never);
    return import('@bytecodealliance/componentize-js');
  })();
  return componentizeModule;
}

/** The installed componentize-js version, read from its package.json (loading the tool itself takes ~1 s). */
export async function componentizeVersion(): Promise<string> {
  // Found the way Node finds packages: node_modules folders upward from here.
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(folder, 'node_modules', '@bytecodealliance', 'componentize-js', 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    if (dirname(folder) === folder) return (await loadComponentize()).version;
    folder = dirname(folder);
  }
}

const componentizeOptions = { disableFeatures: ['http', 'fetch-event'] as ('http' | 'fetch-event')[], env: false } as const;

/** The fixed componentize-js options, part of the build cache key. */
export const componentizeRecipe = JSON.stringify(componentizeOptions);

/** Turns one bundled ES module into a component of the given world. */
export async function componentizeSource(sourcePath: string, witPath: string, worldName: string): Promise<Uint8Array> {
  const { componentize } = await loadComponentize();
  try {
    const { component } = await componentize({
      sourcePath,
      witPath,
      worldName,
      ...componentizeOptions,
    });
    return component;
  } catch (error) {
    throw new AlgaError('E_BUILD_COMPONENTIZE_FAILED', String((error as Error).message ?? error).split('\n').slice(0, 6).join('\n'), { cause: error });
  }
}
