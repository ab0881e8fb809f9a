import { existsSync, readdirSync, watch, type FSWatcher } from 'node:fs';
import { join, relative, sep } from 'node:path';

/**
 * Calls `onChange(file)` (project-relative, `/`-separated) when manifest.json or anything under src/
 * or ui/ changes. Folders are watched one by one, not with `recursive` (on Linux, Node's recursive
 * watch loses a file that an editor replaces by renaming a new one over it); folders created
 * later are picked up when their parent reports them.
 */
export function watchProject(projectDir: string, onChange: (file: string) => void): { close(): void } {
  const watchers = new Map<string, FSWatcher>();
  const report = (dir: string, name: string | null) => {
    const file = relative(projectDir, join(dir, String(name ?? ''))).split(sep).join('/');
    if (file === 'manifest.json' || file.startsWith('src/') || file.startsWith('ui/') || file === 'src' || file === 'ui') onChange(file);
  };
  const add = (dir: string): void => {
    if (watchers.has(dir) || !existsSync(dir)) return;
    try {
      const watcher = watch(dir, (_event, name) => {
        if (dir === projectDir && name !== 'manifest.json' && name !== 'src' && name !== 'ui') return;
        scan(dir);
        report(dir, name);
      });
      watcher.on('error', () => {
        watcher.close();
        watchers.delete(dir);
      });
      watchers.set(dir, watcher);
    } catch {
      return; // gone meanwhile
    }
    if (dir !== projectDir) scan(dir);
  };
  const scan = (dir: string): void => {
    const folders = dir === projectDir ? ['src', 'ui'] : safeList(dir);
    for (const name of folders) add(join(dir, name));
  };
  add(projectDir);
  scan(projectDir);
  return {
    close() {
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
  } catch {
    return [];
  }
}
