import { relative } from 'node:path';
import type { Command } from 'commander';
import { initProject, templateNames } from '../../lib/build/init.ts';

export function register(program: Command): void {
  program
    .command('init')
    .description('Create a ready-to-build extension project in a new folder')
    .argument('<name>', 'folder to create (its name becomes the extension name, e.g. my-ext)')
    .option('-t, --template <template>', `project template: ${templateNames().join(' | ')}`, 'hello')
    .option('--id <id>', 'manifest name (reverse-DNS); default com.<publisher>.<name>')
    .option('--publisher <publisher>', 'publisher id', 'example')
    .action((name: string, options: { template: string; id?: string; publisher: string }) => {
      const result = initProject({ targetDir: name, template: options.template, id: options.id, publisher: options.publisher });
      const where = relative(process.cwd(), result.projectDir) || '.';
      process.stdout.write(
        `Created ${result.id} in ${where} (${options.template} template):\n` +
          result.files.map((file) => `  ${file}\n`).join('') +
          `\nNext:\n  cd ${where}\n  npx alga-ext build\n`,
      );
    });
}
