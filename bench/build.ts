// `alga-ext build` against calling componentize-js directly on the same bundled source, both
// cold (fresh processes, empty cache), and an unchanged rebuild against the cold build. The direct
// call is plain componentize-js (random temp paths, unpinned entropy); alga-ext build pins both
// (reproducible output) with an engine rewritten once per machine: that one-time cost is measured
// on its own (empty engine cache), the rounds use the engine cache it filled.
// Run: node --import tsx bench/build.ts [project]   (BENCH_ROUNDS=n, default 2)
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { buildExtension } from '../lib/build/index.ts';
import { bundleExtensionSource } from '../lib/build/bundle-source.ts';
import { narrowedWorld, witInterfaceFiles } from '../lib/build/wit-world.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const project = resolve(repoRoot, process.argv[2] ?? 'examples/kv-counter');
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const scratch = mkdtempSync(join(tmpdir(), 'alga-bench-build-'));

const engineCache = join(scratch, 'engines');
const env = { ...process.env, ALGA_ENGINE_CACHE: engineCache };

async function timed(file: string, args: string[]): Promise<number> {
  const started = performance.now();
  await run(file, args, { cwd: scratch, env, maxBuffer: 16 * 1024 * 1024 });
  return performance.now() - started;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const ms = (value: number): string => `${value.toFixed(0)} ms`;

try {
  // The project copied out, so the bench never touches its dist/.
  const projectCopy = join(scratch, 'project');
  cpSync(project, projectCopy, { recursive: true, filter: (path) => !/[\\/](dist|\.alga-cache)$/.test(path) });

  // Baseline input: exactly the module and world alga-ext build hands to componentize-js.
  const bundled = await bundleExtensionSource(join(projectCopy, 'src', 'index.ts'), projectCopy);
  const witPath = join(scratch, 'wit');
  mkdirSync(witPath);
  for (const [name, text] of witInterfaceFiles()) writeFileSync(join(witPath, name), text);
  writeFileSync(join(witPath, 'world.wit'), narrowedWorld('extension-build', bundled.usedInterfaces));
  const sourcePath = join(scratch, 'extension.js');
  writeFileSync(sourcePath, bundled.code);
  const shimUrl = pathToFileURL(join(repoRoot, 'node_modules/@bytecodealliance/preview2-shim/dist/nodejs/filesystem.js')).href;
  const componentizeUrl = pathToFileURL(join(repoRoot, 'node_modules/@bytecodealliance/componentize-js/src/componentize.js')).href;
  const directScript = `
    const { _setPreopens } = await import(${JSON.stringify(shimUrl)});
    _setPreopens({ '/': '/' });
    const { componentize } = await import(${JSON.stringify(componentizeUrl)});
    const { component } = await componentize({ sourcePath: ${JSON.stringify(sourcePath)}, witPath: ${JSON.stringify(witPath)},
      worldName: 'extension-build', disableFeatures: ['http', 'fetch-event'], env: false });
    (await import('node:fs')).writeFileSync(${JSON.stringify(join(scratch, 'direct.wasm'))}, component);`;
  const cli = join(repoRoot, 'bin', 'alga-ext.js');

  // Once per machine (and per componentize-js version): the engine with pinned init-time entropy.
  const firstOnMachine = await timed(process.execPath, [cli, 'build', '--dir', projectCopy, '--cache-dir', join(scratch, 'cache-first')]);
  process.stdout.write(`first build on this machine (empty engine cache): ${ms(firstOnMachine)}\n`);

  const direct: number[] = [];
  const coldInProcess: number[] = [];
  const cold: number[] = [];
  const unchanged: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const cacheDir = join(scratch, `cache-${round}`);
    direct.push(await timed(process.execPath, ['--input-type=module', '-e', directScript]));
    // The build alone (bundle, pinned componentize, provenance), without the CLI's start and type check.
    const started = performance.now();
    await buildExtension({ projectDir: projectCopy, cacheDir: join(scratch, `cache-in-process-${round}`) });
    coldInProcess.push(performance.now() - started);
    cold.push(await timed(process.execPath, [cli, 'build', '--dir', projectCopy, '--cache-dir', cacheDir]));
    unchanged.push(await timed(process.execPath, [cli, 'build', '--dir', projectCopy, '--cache-dir', cacheDir]));
    process.stdout.write(`round ${round}: componentize-js ${ms(direct.at(-1)!)}, buildExtension cold ${ms(coldInProcess.at(-1)!)}, alga-ext build cold ${ms(cold.at(-1)!)}, unchanged ${ms(unchanged.at(-1)!)}\n`);
  }

  // What every alga-ext command pays before it starts working (tsx + loading the command modules).
  const cliStart: number[] = [];
  for (let index = 0; index < 3; index++) cliStart.push(await timed(process.execPath, [cli, '--help']));

  // The unchanged rebuild without the process start (tsx + module loading), as a library call.
  const inProcess: number[] = [];
  for (let index = 0; index < 5; index++) {
    const started = performance.now();
    const result = await buildExtension({ projectDir: projectCopy, cacheDir: join(scratch, 'cache-1') });
    inProcess.push(performance.now() - started);
    if (!result.cached) throw new Error('expected a cache hit');
  }

  const coldMedian = median(cold);
  const directMedian = median(direct);
  process.stdout.write(
    [
      '',
      `build bench: ${project.replace(repoRoot, '')} (${rounds} rounds, medians, fresh processes, empty cache for cold)`,
      `  componentize-js directly (baseline)     ${ms(directMedian)}`,
      `  buildExtension, cold (in process)       ${ms(median(coldInProcess))}   ratio to baseline ${(median(coldInProcess) / directMedian).toFixed(2)}`,
      `  alga-ext build, cold                    ${ms(coldMedian)}   ratio to baseline ${(coldMedian / directMedian).toFixed(2)} (target <= 1.10)`,
      `  alga-ext build, unchanged (CLI process) ${ms(median(unchanged))}   cold is ${(coldMedian / median(unchanged)).toFixed(1)}x slower`,
      `  buildExtension, unchanged (in process)  ${ms(median(inProcess))}   cold is ${(coldMedian / median(inProcess)).toFixed(0)}x slower (target >= 50x)`,
      `  alga-ext --help (CLI start, included in both alga-ext rows) ${ms(median(cliStart))}`,
      `  first build on a machine (pins the engine once, then a cold build) ${ms(firstOnMachine)}`,
      '',
    ].join('\n'),
  );
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
