import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { packProjectDir, writeUserFile } from '../../lib/bundle/index.ts';

export function register(program: Command): void {
  program
    .command('pack')
    .description('Pack manifest.json, dist/component.wasm and dist/ui/ into a content-addressed bundle; prints sha256:<hex>')
    .option('-o, --output <file>', 'where to write the bundle (default dist/<name>-<version>.algabundle)')
    .option('-d, --dir <folder>', 'the extension project folder', '.')
    .action((options: { output?: string; dir: string }) => {
      const projectDir = resolve(options.dir);
      const packed = packProjectDir(projectDir);
      const output = resolve(options.output ?? join(projectDir, 'dist', `${packed.manifest.name}-${packed.manifest.version}.algabundle`));
      writeUserFile(output, packed.bytes);
      process.stderr.write(`Packed ${relative(process.cwd(), output) || output} (${packed.bytes.length} bytes)\n`);
      process.stdout.write(`${packed.hash}\n`);
    });
}
