// Builds one project twice, in two different folders with fresh caches, and shows where the two
// component.wasm files differ, section by section (nested core modules included).
// Run: node --import tsx scripts/build-diff.ts [project] [--keep <folder>]   (default examples/hello)
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildExtension } from '../lib/build/index.ts';
import { diffComponents } from '../lib/build/wasm-sections.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const args = process.argv.slice(2);
const keepAt = args.indexOf('--keep');
const keep = keepAt >= 0 ? resolve(args.splice(keepAt, 2)[1]) : undefined;
const project = resolve(repoRoot, args[0] ?? 'examples/hello');

const outputs: Uint8Array[] = [];
const scratches: string[] = [];
try {
  // Different names and depths: esbuild and wizer used to write paths relative to or inside these.
  for (const name of ['first', 'deeper/second-folder']) {
    const scratch = mkdtempSync(join(tmpdir(), `alga-build-diff-${name.replace('/', '-')}-`));
    scratches.push(scratch);
    const copy = join(scratch, 'project', name);
    cpSync(project, copy, { recursive: true, filter: (path) => !/[\\/](dist|\.alga-cache|node_modules)$/.test(path) });
    const result = await buildExtension({ projectDir: copy, cacheDir: join(scratch, 'cache') });
    const { readFileSync } = await import('node:fs');
    outputs.push(new Uint8Array(readFileSync(result.componentPath)));
    process.stdout.write(`built ${copy}: ${result.bytes} bytes, source hash ${result.sourceHash}\n`);
  }
  if (keep) {
    mkdirSync(keep, { recursive: true });
    writeFileSync(join(keep, 'a.wasm'), outputs[0]);
    writeFileSync(join(keep, 'b.wasm'), outputs[1]);
  }
  const report = diffComponents(outputs[0], outputs[1]);
  process.stdout.write(`${report.text}\n`);
  process.exitCode = report.identical ? 0 : 1;
} finally {
  for (const scratch of scratches) rmSync(scratch, { recursive: true, force: true });
}
