import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlgaError } from '../errors/index.ts';
import { readArchive, writeArchive, type ContentHash } from '../bundle/index.ts';

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

/** sha256 over each file's path, length and bytes, in path order: a renamed, added or changed file changes it. */
export function sourceHashOf(files: Map<string, Uint8Array>): ContentHash {
  const hash = createHash('sha256');
  for (const [path, bytes] of files) hash.update(`${path}\0${bytes.length}\0`).update(bytes);
  return `sha256:${hash.digest('hex')}`;
}

/** The files as a deterministic ustar archive (a bundle's `source.tar`). */
export function sourceArchiveOf(files: Map<string, Uint8Array>): Uint8Array {
  return writeArchive([...files].map(([path, bytes]) => ({ path, bytes })));
}

export function filesOfSourceArchive(archive: Uint8Array): Map<string, Uint8Array> {
  return new Map(readArchive(archive).map((entry) => [entry.path, new Uint8Array(entry.bytes)]));
}
