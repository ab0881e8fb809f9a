import { relative } from 'node:path';
import type { Command } from 'commander';
import { initProject, sdkPackageName, templateNames } from '../../lib/build/init.ts';

export function register(program: Command): void {
  program
    .command('init')
    .description('Create a ready-to-build extension project (a new folder, or "." in one holding only package.json/node_modules)')
    .argument('<name>', 'folder to create (its name becomes the extension name, e.g. my-ext), or "."')
    .option('-t, --template <template>', `project template: ${templateNames().join(' | ')}`, 'hello')
    .option('--id <id>', 'manifest name (reverse-DNS); default com.<publisher>.<name>')
    .option('--publisher <publisher>', 'publisher id', 'example')
    .option('--sdk <spec>', `how package.json names ${sdkPackageName} (the SDK and this CLI): a packed tarball such as ../alga-extension-host-0.1.0.tgz, or a version range (default ^<this version>)`)
    .action((name: string, options: { template: string; id?: string; publisher: string; sdk?: string }) => {
      const result = initProject({ targetDir: name, template: options.template, id: options.id, publisher: options.publisher, sdkSpec: options.sdk });
      const where = relative(process.cwd(), result.projectDir) || '.';
      const next = [
        ...(where === '.' ? [] : [`  cd ${where}`]),
        ...(result.sdkInstalled ? [] : [`  npm install        # installs ${sdkPackageName} as package.json names it (see --sdk)`]),
        '  npx alga-ext build  # type-checks, then src/ → dist/component.wasm',
        '  npx alga-ext dev    # rebuilds on change and serves it at http://127.0.0.1:<port>',
      ];
      process.stdout.write(`Created ${result.id} in ${where} (${options.template} template):\n${result.files.map((file) => `  ${file}\n`).join('')}\nNext:\n${next.join('\n')}\n`);
    });
}
