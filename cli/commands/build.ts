import { relative } from 'node:path';
import type { Command } from 'commander';
import { checkOrFail } from './check.ts';
import { projectDirOf, withProjectDir } from './project-dir.ts';

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function register(program: Command): void {
  withProjectDir(program.command('build').description('Compile the extension (src/index.ts) to dist/component.wasm and copy/bundle ui/ into dist/ui/'))
    .option('--cache-dir <folder>', 'where built components are cached by source hash (default <project>/.alga-cache)')
    .option('--no-check', 'skip the type check (`alga-ext check`) that runs first')
    .action(async (dir: string | undefined, options: { dir?: string; cacheDir?: string; check: boolean }) => {
      const started = Date.now();
      const projectDir = projectDirOf(dir, options.dir);
      if (options.check) await checkOrFail(projectDir, true);
      // Loaded here, not at startup: every alga-ext command pays for the modules its file imports.
      const { buildExtension } = await import('../../lib/build/index.ts');
      const { terminalProgress } = await import('../../lib/build/progress.ts');
      const progress = terminalProgress();
      try {
        const result = await buildExtension({ projectDir, cacheDir: options.cacheDir, onProgress: progress.onProgress });
        const where = relative(process.cwd(), result.componentPath) || result.componentPath;
        const imports = result.usedInterfaces.length ? result.usedInterfaces.join(', ') : 'none';
        const ui = result.uiFiles.length ? `, ui: ${result.uiFiles.length} files` : '';
        process.stdout.write(
          `Built ${where} (${megabytes(result.bytes)}${result.cached ? ', cached' : ''}) in ${((Date.now() - started) / 1000).toFixed(1)} s; host imports: ${imports}${ui}\n`,
        );
        for (const capability of result.missingCapabilities) {
          process.stderr.write(`warning: the code uses ${capability}, but manifest.json does not declare it; pack will refuse the bundle\n`);
        }
      } finally {
        progress.stop();
      }
    });
}
