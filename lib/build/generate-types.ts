import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { witDir } from './wit-world.ts';

/** Where the SDK keeps the TypeScript declarations generated from wit/. */
export const generatedTypesDir = fileURLToPath(new URL('../../sdk/runtime/generated/', import.meta.url));

const header = '// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.\n';

/**
 * The guest-side declarations of every interface of the `extension` world, as jco generates
 * them: `declare module 'alga:extension/storage@0.1.0' { … }` and so on. Keyed by file path
 * relative to the generated folder.
 */
export async function generateGuestTypeFiles(): Promise<Map<string, string>> {
  // jco's type generator reads wit/ through the WASI shim, which starts with no preopens.
  const { _setPreopens } = await import('@bytecodealliance/preview2-shim/filesystem');
  // Node's shim takes a host path per guest path; its published types describe the browser shim.
  _setPreopens({ '/': '/' } as never);
  const { generateGuestTypes } = await import('@bytecodealliance/jco-transpile');
  const files = await generateGuestTypes(witDir, { worldName: 'alga:extension/extension@0.1.0' });
  const decoder = new TextDecoder();
  const result = new Map<string, string>();
  for (const name of Object.keys(files).sort()) {
    result.set(name, header + decoder.decode(files[name] as Uint8Array));
  }
  return result;
}

/** The declarations currently on disk, in the same shape. */
export function readGeneratedTypeFiles(dir = generatedTypesDir): Map<string, string> {
  const result = new Map<string, string>();
  if (!existsSync(dir)) return result;
  const walk = (folder: string): void => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.d.ts')) result.set(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8'));
    }
  };
  walk(dir);
  return new Map([...result].sort(([a], [b]) => a.localeCompare(b)));
}

/** Regenerates sdk/runtime/generated/ from wit/; returns the files written. */
export async function writeGuestTypes(dir = generatedTypesDir): Promise<string[]> {
  const files = await generateGuestTypeFiles();
  rmSync(dir, { recursive: true, force: true });
  for (const [name, text] of files) {
    const path = join(dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
  return [...files.keys()];
}
