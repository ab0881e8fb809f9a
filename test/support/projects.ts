import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** Built components are cached here by source hash, shared by every test file and run. */
export const sharedBuildCache = join(repoRoot, '.alga-cache', 'components');

/** Every extension project the tests use: the examples and the runner's test guests. */
export function testProjects(): string[] {
  const roots = [join(repoRoot, 'examples'), join(repoRoot, 'test', 'guests')];
  return roots.flatMap((root) =>
    existsSync(root)
      ? readdirSync(root, { withFileTypes: true })
          .filter((entry) => entry.isDirectory() && existsSync(join(root, entry.name, 'manifest.json')))
          .map((entry) => join(root, entry.name))
      : [],
  );
}

export function exampleDir(name: string): string {
  return join(repoRoot, 'examples', name);
}

export function guestDir(name: string): string {
  return join(repoRoot, 'test', 'guests', name);
}
