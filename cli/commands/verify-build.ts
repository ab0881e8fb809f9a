import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { readUserFile } from '../../lib/bundle/index.ts';

export function register(program: Command): void {
  program
    .command('verify-build')
    .description('Rebuild a bundle\'s component from source (fresh folder, no cache) and check it is byte-identical; exits 0 only when it is')
    .argument('<bundle>', 'the .algabundle (packed after `alga-ext build`, so it holds provenance.json)')
    .argument('[source-dir]', 'the extension project to rebuild (default: the bundle\'s source.tar)')
    .option('--json', 'print one JSON object')
    .action(async (bundlePath: string, sourceDir: string | undefined, options: { json?: boolean }) => {
      const bytes = readUserFile(bundlePath);
      const { verifyBuild, explainMismatch } = await import('../../lib/build/verify-build.ts');
      const result = await verifyBuild(bytes, sourceDir);
      if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
      if (!result.reproducible) throw new AlgaError('E_BUILD_NOT_REPRODUCIBLE', explainMismatch(result));
      if (!options.json) {
        const from = result.source === 'folder' ? sourceDir : 'the bundle\'s source.tar';
        process.stdout.write(`reproducible: component.wasm ${result.bundleComponentHash} rebuilt byte-identical from ${from} (source ${result.rebuilt.sourceHash})\n`);
        if (result.toolchainDifferences.length) process.stdout.write(`note: toolchain versions differ yet the bytes match: ${result.toolchainDifferences.join('; ')}\n`);
      }
    });
}
