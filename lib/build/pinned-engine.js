// Plain JavaScript: loaded by componentize-process.js, which runs without the TypeScript loader.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const initFunction = 'componentize.wizer';

/**
 * componentize-js's StarlingMonkey engine with its init-time entropy pinned (pin-init-entropy.js),
 * made once per engine and kept in `cacheDir` by the hash of the engine and the recipe: the
 * rewrite takes seconds, and it is the same for every extension (componentize-js splices each
 * world's bindings into it afterwards).
 * @param {string} cacheDir
 * @param {string} pinRecipe names the rewrite (componentize.ts); part of the cache key
 * @returns {Promise<string>} path of the pinned engine
 */
export async function pinnedEnginePath(cacheDir, pinRecipe) {
  const enginePath = fileURLToPath(new URL('../lib/starlingmonkey_embedding.wasm', import.meta.resolve('@bytecodealliance/componentize-js')));
  const engine = readFileSync(enginePath);
  const key = createHash('sha256').update(pinRecipe).update('\0').update(engine).digest('hex');
  const pinnedPath = join(cacheDir, `starlingmonkey-${key.slice(0, 32)}.wasm`);
  if (existsSync(pinnedPath)) return pinnedPath;
  const { pinInitEntropy } = await import('./pin-init-entropy.js');
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${pinnedPath}.${process.pid}.tmp`;
  writeFileSync(temporary, pinInitEntropy(engine, initFunction));
  renameSync(temporary, pinnedPath);
  return pinnedPath;
}
