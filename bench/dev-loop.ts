// What a one-line change in src/ costs a developer: `alga-ext build` (a componentize-js run, the
// baseline) against `alga-ext dev` (bundle + the next request through the runner), in alternating
// rounds on the same project; and where `alga-ext run` spends its time (one process start).
// Run: node --import tsx bench/dev-loop.ts [project]   (BENCH_ROUNDS=n, default 2)
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { buildExtension } from '../lib/build/index.ts';
import { startDevServer } from '../lib/dev/dev-server.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const project = resolve(repoRoot, process.argv[2] ?? 'examples/kv-counter');
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const scratch = mkdtempSync(join(tmpdir(), 'alga-bench-dev-'));
const sharedCache = join(repoRoot, '.alga-cache', 'components');
const ms = (value: number): string => `${value.toFixed(0)} ms`;
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

try {
  const copy = join(scratch, 'project');
  cpSync(project, copy, { recursive: true, filter: (path) => !/[\\/](dist|\.alga-cache)$/.test(path) });
  const source = join(copy, 'src', 'index.ts');
  const original = readFileSync(source, 'utf8');
  const manifest = JSON.parse(readFileSync(join(copy, 'manifest.json'), 'utf8')) as { name: string; api?: { endpoints: { method: string; path: string }[] } };
  const path = manifest.api?.endpoints.find((endpoint) => endpoint.method === 'GET')?.path ?? '/';
  let edit = 0;
  const change = () => writeFileSync(source, `${original}\nexport const edit${++edit} = ${edit};\n`); // a one-line change: new code, a cache miss

  const dev = await startDevServer({
    projectDir: copy, host: '127.0.0.1', port: 0, uiPort: 0, cacheDir: sharedCache, dataDir: join(scratch, 'dev'),
    config: {}, secrets: {}, deny: [], allowPrivateEgress: false, tenant: 'bench', print: () => {},
  });
  const builds: number[] = [];
  const devChanges: number[] = [];
  for (let round = 0; round < rounds; round++) {
    change();
    let started = performance.now();
    await buildExtension({ projectDir: copy, cacheDir: join(scratch, 'build-cache') });
    builds.push(performance.now() - started);

    change();
    started = performance.now();
    const rebuilt = await dev.rebuild();
    if (!rebuilt.ok) throw new Error(rebuilt.error);
    const answer = await fetch(`${dev.url}/api/ext/${manifest.name}${path}`);
    await answer.arrayBuffer();
    devChanges.push(performance.now() - started);
    console.log(`round ${round + 1}: build ${ms(builds.at(-1)!)}, dev change → answered ${ms(devChanges.at(-1)!)} (rebuild ${rebuilt.ms} ms, status ${answer.status})`);
  }
  await dev.close();
  console.log(`one-line change, median: alga-ext build ${ms(median(builds))} (baseline); alga-ext dev ${ms(median(devChanges))} → ${(median(devChanges) / median(builds)).toFixed(4)}× the baseline`);

  // alga-ext run: one process start per request; the transpile is cached by hash in --data-dir.
  const runTimes: number[] = [];
  await buildExtension({ projectDir: copy, cacheDir: join(scratch, 'build-cache') });
  for (let round = 0; round < rounds + 1; round++) {
    const started = performance.now();
    await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'run', copy, '--path', path, '--data-dir', join(scratch, 'run')], { cwd: scratch });
    runTimes.push(performance.now() - started);
  }
  console.log(`alga-ext run (one process): first ${ms(runTimes[0])} (transpiles the new component), then ${runTimes.slice(1).map(ms).join(', ')}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
