import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlgaError } from '../errors/index.ts';

/** Folders of a project that are build output, caches or installed packages, not source. */
const notSource = new Set(['dist', 'node_modules', '.alga-cache', '.alga-runner', '.git']);
const maxFiles = 1000;

/**
 * The project's source files by path relative to it (`/` separators, sorted): everything but
 * `dist/`, `node_modules/`, caches and `.git/`; so manifest.json, tsconfig.json and the lockfile are
 * included. Links are followed: the build reads what they point to. `outputFolders` (absolute) are
 * skipped too: a build's own output or cache folder inside the project is not source.
 */
export function projectSourceFiles(projectDir: string, outputFolders: string[] = []): Map<string, Uint8Array> {
  const skipped = new Set(outputFolders.map((folder) => resolve(folder)));
  const files = new Map<string, Uint8Array>();
  const walk = (dir: string, prefix: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      if ((!prefix && notSource.has(name)) || skipped.has(path)) continue;
      const relative = prefix ? `${prefix}/${name}` : name;
      const stat = statSync(path);
      if (stat.isDirectory()) walk(path, relative);
      else if (stat.isFile()) files.set(relative, readFileSync(path));
      if (files.size > maxFiles) throw new AlgaError('E_BUILD_NO_PROJECT', `${projectDir} has more than ${maxFiles} source files outside dist/ and node_modules/; is it the extension project?`);
    }
  };
  walk(projectDir, '');
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

