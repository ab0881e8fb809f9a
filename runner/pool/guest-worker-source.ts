import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';

let source: string | undefined;

/**
 * The guest worker as one plain script (esbuild bundles guest-worker.ts and the project modules
 * it imports, once per process). Workers run it without a TypeScript loader, so the jco glue they
 * import is not transformed on the way: with tsx's hooks in a worker, importing one extension's
 * 365 KB glue took 0.2 s quiet and seconds on a loaded machine, against ~15 ms without. Packages
 * (lmdb with its native binding, prom-client) stay outside the bundle and are required from
 * guest-worker.ts's own folder, as they would be without it.
 */
export function guestWorkerSource(): string {
  const entry = fileURLToPath(new URL('./guest-worker.ts', import.meta.url));
  source ??= buildSync({
    entryPoints: [entry],
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    write: false,
    logLevel: 'silent',
    banner: { js: `require = require('node:module').createRequire(${JSON.stringify(entry)});` },
  }).outputFiles[0].text;
  return source;
}
