// What one `alga-ext run` process starts and costs: the runner as `run` configures it (one guest
// worker, the component loaded on the main thread) against the runner's server defaults (plus a
// reserve worker and a loader thread; the baseline), each in a fresh process, alternating rounds,
// on a built project with its transpile cache warm; then the `alga-ext run` command itself.
// Run: node --import tsx bench/cli-run-start.ts [built project]   (BENCH_ROUNDS=n, default 3; BENCH_TRACE=1 prints where each Worker starts)
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const project = resolve(repoRoot, process.argv[2] ?? 'examples/hello');
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const scratch = mkdtempSync(join(tmpdir(), 'alga-bench-run-'));
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** A child process: counts the Worker threads it starts, loads the project into a runner, makes one call. */
const child = (runnerConfig: Record<string, unknown>) => `
import workerThreads from 'node:worker_threads';
import { syncBuiltinESMExports } from 'node:module';
import { readdirSync } from 'node:fs';
let threads = 0;
const Original = workerThreads.Worker;
workerThreads.Worker = class extends Original { constructor(...args) { super(...args); threads++; if (process.env.BENCH_TRACE) console.error(new Error("Worker started").stack);} };
syncBuiltinESMExports();
const { createRunner } = await import(${JSON.stringify(join(repoRoot, 'runner/runner.ts'))});
const { packProjectDir, unpackBundle } = await import(${JSON.stringify(join(repoRoot, 'lib/bundle/index.ts'))});
const { manifest, component, ui } = unpackBundle(packProjectDir(${JSON.stringify(project)}).bytes);
const runner = createRunner({ dataDir: ${JSON.stringify(join(scratch, 'data'))}, workers: 1, ...${JSON.stringify(runnerConfig)} });
const hash = await runner.registerLocal(manifest, component, ui);
const path = manifest.api?.endpoints?.find((endpoint) => endpoint.method === 'GET')?.path ?? '/';
const result = await runner.execute({ context: { tenant_id: 't', extension_id: manifest.name, install_id: 'i', version: manifest.version, content_hash: hash }, http: { method: 'GET', path, query: '', headers: {}, body_b64: '' }, config: {}, providers: [] });
const osThreads = readdirSync('/proc/self/task').length;
const answered = performance.now();
await runner.close();
console.log(JSON.stringify({ status: result.ok ? result.status : result.error.code, workerThreads: threads, osThreads, answeredMs: answered }));
`;

async function once(runnerConfig: Record<string, unknown>): Promise<{ wallMs: number; answeredMs: number; workerThreads: number; osThreads: number; status: unknown }> {
  const script = join(scratch, 'child.mjs');
  writeFileSync(script, child(runnerConfig));
  const started = performance.now();
  const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot });
  if (process.env.BENCH_TRACE) process.stderr.write(stderr);
  return { wallMs: performance.now() - started, ...JSON.parse(stdout.trim().split('\n').at(-1)!) };
}

const configs = { 'server defaults (baseline)': { reserveWorkers: 1, loaderThread: true }, 'as alga-ext run': { reserveWorkers: 0, loaderThread: false } };
try {
  await once(configs['as alga-ext run']); // warms the transpile cache
  const results: Record<string, Array<Awaited<ReturnType<typeof once>>>> = {};
  for (let round = 0; round < rounds; round++) {
    for (const [name, config] of Object.entries(configs)) (results[name] ??= []).push(await once(config));
  }
  for (const [name, list] of Object.entries(results)) {
    console.log(`${name}: process ${median(list.map((r) => r.wallMs)).toFixed(0)} ms, answered at ${median(list.map((r) => r.answeredMs)).toFixed(0)} ms after start; Worker threads ${list[0].workerThreads}, OS threads ${list[0].osThreads} (status ${list[0].status})`);
  }
  const [baseline, now] = Object.values(results).map((list) => median(list.map((r) => r.wallMs)));
  console.log(`process time: ${(now / baseline).toFixed(2)}× the baseline`);
  const commands: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = performance.now();
    await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'run', project, '--path', '/hello', '--data-dir', join(scratch, 'data')], { cwd: scratch });
    commands.push(performance.now() - started);
  }
  console.log(`alga-ext run ${project.slice(repoRoot.length)}: ${commands.map((ms) => `${ms.toFixed(0)} ms`).join(', ')} (median ${median(commands).toFixed(0)} ms)`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
