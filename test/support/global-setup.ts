import { relative } from 'node:path';
import { buildExtension } from '../../lib/build/index.ts';
import { repoRoot, sharedBuildCache, testProjects } from './projects.ts';

/**
 * Builds every example and test guest once per run (componentize-js takes ~10 s each),
 * so test files only read `<project>/dist/component.wasm`. Unchanged sources are cache hits.
 */
export default async function buildTestProjects(): Promise<void> {
  for (const projectDir of testProjects()) {
    const started = Date.now();
    const result = await buildExtension({ projectDir, cacheDir: sharedBuildCache });
    const label = relative(repoRoot, projectDir);
    process.stdout.write(`[build] ${label}: ${result.cached ? 'cached' : 'built'} in ${Date.now() - started} ms\n`);
  }
}
