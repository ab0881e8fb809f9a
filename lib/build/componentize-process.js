// Runs componentize-js in a Node process of its own, without the TypeScript loader: loading
// componentize-js through tsx's module hooks costs ~0.4 s more than loading it plainly, and
// componentize-js hands its own stdout to the wizer process it starts, so a worker thread will
// not do. Plain JavaScript for that reason.
// Usage: node componentize-process.js <request.json>, where the file holds
// { sourcePath, witPath, worldName, options, outputPath, engineCacheDir, pinRecipe }. Writes the component to outputPath;
// on failure prints the reason on stderr and exits 1.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { pinWizerPaths } from './wizer-paths.js';
import { pinnedEnginePath } from './pinned-engine.js';

const require = createRequire(import.meta.url);

/**
 * componentize-js runs wizer (a native binary) with the host paths of its random work folder and
 * of our scratch folder; wizer's snapshot keeps them, so every build differed. Its wizer call is
 * rewritten to see both at fixed virtual paths instead (see wizer-paths.js). componentize-js
 * imports `spawnSync` by name, so the builtin's ESM export is replaced too.
 */
async function pinWizerCall() {
  const wizerBinary = (await import('@bytecodealliance/wizer')).default;
  const childProcess = require('node:child_process');
  const spawnSync = childProcess.spawnSync;
  childProcess.spawnSync = (file, args, options) => {
    if (file !== wizerBinary) return spawnSync(file, args, options);
    const pinned = pinWizerPaths(args, String(options.input));
    return spawnSync(file, pinned.args, { ...options, input: pinned.input });
  };
  syncBuiltinESMExports();
}

try {
  const { sourcePath, witPath, worldName, options, outputPath, engineCacheDir, pinRecipe } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  // componentize-js runs its own tools under the WASI shim, which (0.26) starts with no
  // preopens; they need the build machine's filesystem. Guests never get this shim.
  const { _setPreopens } = await import('@bytecodealliance/preview2-shim/filesystem');
  _setPreopens({ '/': '/' });
  await pinWizerCall();
  const { componentize } = await import('@bytecodealliance/componentize-js');
  const engine = await pinnedEnginePath(engineCacheDir, pinRecipe);
  const { component } = await componentize({ sourcePath, witPath, worldName, engine, ...options });
  writeFileSync(outputPath, component);
} catch (error) {
  process.stderr.write(`${String(error?.message ?? error)}\n`);
  process.exitCode = 1;
}
