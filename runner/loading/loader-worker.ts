import { parentPort } from 'node:worker_threads';
import { isAlgaError } from '../../lib/errors/index.ts';
import { compileCoreModules, transpileSummary } from './loader-ops.ts';

/**
 * The loader thread: transpiles components and rewrites and compiles their core modules, so
 * none of that CPU work stalls the runner's main thread (which serves every tenant).
 * Requests `{id, op, ...}`, answers `{id, value}` or `{id, error: {code?, detail?, message}}`.
 */

export type LoaderRequest =
  | { id: number; op: 'transpile'; component: Uint8Array; cacheDir: string }
  | { id: number; op: 'compile'; folder: string; names: string[]; memoryBytes: number };

function serve(request: LoaderRequest): Promise<unknown> {
  return request.op === 'transpile' ? transpileSummary(request.component, request.cacheDir) : compileCoreModules(request.folder, request.names, request.memoryBytes);
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
