// The first call to a version (#11): a new version without and with POST /v1/prepare first, and
// a runner restarted on its data folder (transpile cache on disk, prepared versions remembered)
// without and with preparing again at start. Each case in a runner child of its own, several
// rounds; every figure is a wall-clock time seen by the caller.
// Run: node --import tsx bench/first-call.ts   (BENCH_ROUNDS, default 3)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { executeBody, fmt, post, startChild } from './runner-support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const rows = new Map<string, number[]>();
const record = (name: string, ms: number) => rows.set(name, [...(rows.get(name) ?? []), ms]);

async function withRunner<T>(dataDir: string, config: object, run: (info: { url: string; token: string; hashes: Record<string, string>; listeningAfterMs: number }) => Promise<T>): Promise<T> {
  process.env.BENCH_RUNNER_CONFIG = JSON.stringify({ workers: 2, ...config });
  const child = await startChild(['runner', '2', dataDir]);
  try {
    return await run(child.info as never);
  } finally {
    await child.stop();
  }
}

const call = async (url: string, token: string, hash: string, tenant: string) => {
  const answer = await post(`${url}/v1/execute`, token, executeBody(hash, '/hello', { tenant }));
  if (answer.status !== 200) throw new Error(`execute answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  if (process.env.BENCH_VERBOSE) console.log(`  ${tenant}: ${fmt(answer.ms, 0)} ms at the caller, ${fmt(answer.json.execution.duration_ms, 0)} ms in the runner`);
  return answer.ms;
};

const prepare = async (url: string, token: string, hash: string) => {
  const answer = await post(`${url}/v1/prepare`, token, JSON.stringify({ content_hash: hash }));
  if (answer.status !== 200) throw new Error(`prepare answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer.ms;
};

for (let round = 1; round <= rounds; round++) {
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-bench-first-'));
  // A version the runner has never seen: the first call does everything.
  await withRunner(join(dataDir, 'cold'), {}, async ({ url, token, hashes }) => record('new version, first call (verify, transpile, compile, instantiate)', await call(url, token, hashes.hello, 'tenant-1')));
  // The same, prepared first (what the host does on publish and install).
  await withRunner(dataDir, {}, async ({ url, token, hashes }) => {
    record('new version: POST /v1/prepare', await prepare(url, token, hashes.hello));
    record('new version, first call after prepare', await call(url, token, hashes.hello, 'tenant-1'));
  });
  // Restarted on the same folder, not preparing at start: transpile cache on disk, compile + instantiate in the call.
  await withRunner(dataDir, { preparedToRemember: 0 }, async ({ url, token, hashes, listeningAfterMs }) => {
    record('restart: runner created to listening', listeningAfterMs);
    record('restart, nothing prepared at start: first call', await call(url, token, hashes.hello, 'tenant-2'));
  });
  // Restarted again (the folder still lists the version as prepared): it prepares it as it starts.
  await withRunner(dataDir, {}, async ({ url, token, hashes }) => {
    record('restart, preparing remembered versions: first call at once', await call(url, token, hashes.hello, 'tenant-3'));
  });
  await withRunner(dataDir, {}, async ({ url, token, hashes }) => {
    const ms = await prepare(url, token, hashes.hello); // waits for the preparation already running, if any
    record('restart: until the remembered version is prepared', ms);
    record('restart, remembered version prepared: first call', await call(url, token, hashes.hello, 'tenant-4'));
  });
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`round ${round} done`);
}
console.log('\n| What | median | all rounds |\n|---|---|---|');
for (const [name, values] of rows) console.log(`| ${name} | ${fmt([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)], 0)} ms | ${values.map((value) => fmt(value, 0)).join(', ')} ms |`);
