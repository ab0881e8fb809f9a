import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';
import { installedVersion } from '../package-version.ts';

const componentizeOptions = { disableFeatures: ['http', 'fetch-event'], env: false } as const;

/** The fixed componentize-js options, part of the build cache key. */
export const componentizeRecipe = JSON.stringify(componentizeOptions);

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
  writeFileSync(requestPath, JSON.stringify({ sourcePath, witPath, worldName, options: componentizeOptions, outputPath }));
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
