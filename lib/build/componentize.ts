import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { homedir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';
import { installedVersion } from '../package-version.ts';

const componentizeOptions = { disableFeatures: ['http', 'fetch-event'], env: false } as const;

/**
 * What alga-ext changes around componentize-js so the same source gives the same bytes: wizer sees
 * fixed paths (wizer-paths.js) and the engine reads pinned entropy while it is pre-initialised
 * (pin-init-entropy.js). Bump when either changes what ends up in a component.
 */
export const pinRecipe = 'fixed-wizer-paths/1,pinned-init-entropy/2';

/** The fixed componentize-js options and pinning, part of the build cache key. */
export const componentizeRecipe = JSON.stringify({ ...componentizeOptions, pinRecipe });

/**
 * Where the pinned engine is kept, once per machine (it is the same for every extension and takes
 * seconds to make): $ALGA_ENGINE_CACHE, else $XDG_CACHE_HOME/alga-ext/engines, else ~/.cache/alga-ext/engines.
 */
export function engineCacheDir(): string {
  if (process.env.ALGA_ENGINE_CACHE) return resolve(process.env.ALGA_ENGINE_CACHE);
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'alga-ext', 'engines');
}

/** The installed componentize-js version, read from its package.json (loading the tool itself takes ~0.3 s). */
export async function componentizeVersion(): Promise<string> {
  const version = installedVersion('@bytecodealliance/componentize-js');
  if (!version) throw new AlgaError('E_BUILD_COMPONENTIZE_FAILED', 'componentize-js is not installed next to alga-ext (no node_modules/@bytecodealliance/componentize-js found).');
  return version;
}

/**
 * Turns one bundled ES module into a component of the given world, in a Node process of its own
 * (see componentize-process.js). `scratch` is a folder the caller owns and removes.
 */
export async function componentizeSource(sourcePath: string, witPath: string, worldName: string, scratch: string): Promise<Uint8Array> {
  const requestPath = join(scratch, 'componentize-request.json');
  const outputPath = join(scratch, 'component.wasm');
  writeFileSync(requestPath, JSON.stringify({ sourcePath, witPath, worldName, options: componentizeOptions, outputPath, engineCacheDir: engineCacheDir(), pinRecipe }));
  const child = spawn(process.execPath, [fileURLToPath(new URL('./componentize-process.js', import.meta.url)), requestPath], { stdio: ['ignore', 'inherit', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  if (code !== 0) {
    const reason = Buffer.concat(stderr).toString('utf8').trim() || `componentize-js stopped (${signal ?? `exit code ${code}`}) before giving a component.`;
    throw new AlgaError('E_BUILD_COMPONENTIZE_FAILED', reason.split('\n').slice(0, 6).join('\n'));
  }
  return new Uint8Array(readFileSync(outputPath));
}
