import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The installed version of a dependency, found the way Node finds packages (node_modules folders
 * upward from this file), so it works in this checkout and where the package is installed into a
 * project's node_modules (dependencies hoisted beside it). Undefined when it is not installed.
 */
export function installedVersion(packageName: string): string | undefined {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(folder, 'node_modules', ...packageName.split('/'), 'package.json');
    if (existsSync(manifest)) return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    if (dirname(folder) === folder) return undefined;
    folder = dirname(folder);
  }
}
