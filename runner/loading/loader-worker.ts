import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import { isAlgaError } from '../../lib/errors/index.ts';
import { exportMutableGlobals } from './global-exports.ts';
import { capModuleMemory } from './memory-cap.ts';
import { transpileCached } from './transpile-cache.ts';

/**
 * The loader thread: transpiles components and rewrites and compiles their core modules, so
 * none of that CPU work stalls the runner's main thread (which serves every tenant).
 * Requests `{id, op, ...}`, answers `{id, value}` or `{id, error: {code?, detail?, message}}`.
 */

export type LoaderRequest =
  | { id: number; op: 'transpile'; component: Uint8Array; cacheDir: string }
  | { id: number; op: 'compile'; folder: string; names: string[]; memoryBytes: number };

export interface TranspiledSummary {
  modulePath: string;
  coreModuleNames: string[];
  /** Their size in all (what the compiled-module cache counts). */
  coreModuleBytes: number;
  imports: string[];
  cached: boolean;
}

async function serve(request: LoaderRequest): Promise<unknown> {
  if (request.op === 'transpile') {
    const transpiled = await transpileCached(request.component, request.cacheDir);
    return { modulePath: transpiled.modulePath, coreModuleNames: [...transpiled.coreModules.keys()], coreModuleBytes: [...transpiled.coreModules.values()].reduce((sum, bytes) => sum + bytes.length, 0), imports: transpiled.imports, cached: transpiled.cached } satisfies TranspiledSummary;
  }
  const modules: Record<string, WebAssembly.Module> = {};
  for (const name of request.names) {
    const source = new Uint8Array(readFileSync(join(request.folder, name)));
    modules[name] = await WebAssembly.compile(capModuleMemory(exportMutableGlobals(source).bytes, request.memoryBytes).bytes as Uint8Array<ArrayBuffer>);
  }
  return modules;
}

parentPort!.on('message', (request: LoaderRequest) => {
  serve(request).then(
    (value) => parentPort!.postMessage({ id: request.id, value }),
    (error: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        error: isAlgaError(error) ? { code: error.code, detail: error.detail, message: error.message } : { message: String((error as Error)?.message ?? error) },
      }),
  );
});
