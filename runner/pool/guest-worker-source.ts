import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';

let source: string | undefined;

/**
 * The guest worker as one plain script (esbuild bundles guest-worker.ts and what it imports,
 * once per process). Workers run it without a TypeScript loader, so the jco glue they import
 * is not transformed on the way: with tsx's hooks in a worker, importing one extension's
 * 365 KB glue took 0.2 s quiet and seconds on a loaded machine, against ~15 ms without.
 */
export function guestWorkerSource(): string {
  source ??= buildSync({
    entryPoints: [fileURLToPath(new URL('./guest-worker.ts', import.meta.url))],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
  }).outputFiles[0].text;
  return source;
}
