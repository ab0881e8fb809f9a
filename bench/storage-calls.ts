// What alga.storage calls cost a handler (issue 11, "Storage calls"): test/guests/misbehave
// `GET /storage/mix` (10 storage gets + 1 put; also 10 gets alone, 1 put alone, and the route with
// no storage call) against the same guest's `GET /hello`, through /v1/execute of one runner (2
// workers, a child process), in alternating rounds; each ratio is taken within its round. Also one request at a time, which
// shows the latency a storage call adds. Then the same cases on the runner library in this
// process (no HTTP, 8 executions in flight), whose CPU per execution is steadier.
// Run: node --import tsx bench/storage-calls.ts   (BENCH_SECONDS per run, default 5; BENCH_ROUNDS, default 3)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packProjectDir, storeBundle, storeSignatureFile } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash } from '../lib/signing/index.ts';
import { createRunner } from '../runner/index.ts';
import { executeBody, fmt, load, post, startChild, type LoadResult } from './runner-support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const workers = Number(process.env.BENCH_WORKERS ?? 2);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

const runner = await startChild(['runner', String(workers)]);
const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
const body = (path: string, query = '') => executeBody(hashes.misbehave, path, { providers: ['alga.storage'], query });
const cases = [
  { name: 'hello (no host call)', body: body('/hello'), calls: 0 },
  { name: '10 gets + 1 put', body: body('/storage/mix', 'reads=10&writes=1'), calls: 11 },
  { name: '10 gets', body: body('/storage/mix', 'reads=10&writes=0'), calls: 10 },
  { name: '1 put', body: body('/storage/mix', 'reads=0&writes=1'), calls: 1 },
  // The storage route with no storage call: what the route itself costs above hello (its query
  // parsing and JSON answer), so the storage calls' own cost shows apart from it.
  { name: 'the route alone', body: body('/storage/mix', 'reads=0&writes=0'), calls: 0 },
];
const routeAlone = cases.length - 1;
const execute = (payload: string, duration?: number) => load({ url: `${url}/v1/execute`, method: 'POST', body: payload, headers, duration, pid: runner.child.pid });

for (const { body: payload } of cases) {
  for (let warm = 0; warm < 20; warm++) {
    const answer = await post(`${url}/v1/execute`, token, payload);
    if (answer.status !== 200) throw new Error(`warm-up answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  }
  await execute(payload, 2);
}
const check = await post(`${url}/v1/execute`, token, cases[1].body);
const guest = JSON.parse(Buffer.from(check.json.body_b64, 'base64').toString('utf8'));
if (guest.found !== 10 || check.json.execution.host_calls !== 11) throw new Error(`the storage route did not read 10 stored keys and write one: ${JSON.stringify(guest)}, ${check.json.execution.host_calls} host calls`);

/** One request at a time on one connection, for `seconds`: mean latency in ms. */
async function sequential(payload: string, seconds = 2): Promise<number> {
  const started = performance.now();
  let done = 0;
  while (performance.now() - started < seconds * 1000) {
    await post(`${url}/v1/execute`, token, payload);
    done++;
  }
  return (performance.now() - started) / done;
}

type Measured = { load: LoadResult; ms: number };
const byRound: Measured[][] = [];
for (let round = 1; round <= rounds; round++) {
  const measured: Measured[] = [];
  for (const { body: payload } of cases) measured.push({ load: await execute(payload), ms: await sequential(payload) });
  byRound.push(measured);
  const [hello] = measured;
  console.log(
    `round ${round}: ` +
      cases
        .map(({ name }, index) => {
          const { load: result, ms } = measured[index];
          const versus = index === 0 ? '' : ` = ${fmt(hello.load.rps / result.rps, 2)}× hello by throughput, ${fmt((result.cpuMicrosPerRequest ?? NaN) / (hello.load.cpuMicrosPerRequest ?? NaN), 2)}× by CPU`;
          return `${name}: ${fmt(result.rps, 0)} req/s, ${fmt(result.cpuMicrosPerRequest ?? NaN, 0)} µs CPU, p99 ${fmt(result.p99)} ms, alone ${fmt(ms, 2)} ms${versus}`;
        })
        .join('; '),
  );
}
await runner.stop();

console.log(`median of ${rounds} rounds (runner, ${workers} workers, 8 connections):`);
for (const [index, { name, calls }] of cases.entries()) {
  if (index === 0) continue;
  const byThroughput = median(byRound.map((measured) => measured[0].load.rps / measured[index].load.rps));
  const byCpu = median(byRound.map((measured) => (measured[index].load.cpuMicrosPerRequest ?? NaN) / (measured[0].load.cpuMicrosPerRequest ?? NaN)));
  if (calls === 0) {
    console.log(`  ${name.padEnd(16)} costs ${fmt(byThroughput, 2)}× hello by throughput, ${fmt(byCpu, 2)}× by runner CPU per request`);
    continue;
  }
  const overRoute = median(byRound.map((measured) => measured[routeAlone].load.rps / measured[index].load.rps));
  const perCall = median(byRound.map((measured) => ((measured[index].ms - measured[routeAlone].ms) * 1000) / calls));
  console.log(`  ${name.padEnd(16)} costs ${fmt(byThroughput, 2)}× hello by throughput, ${fmt(byCpu, 2)}× by runner CPU per request; ${fmt(overRoute, 2)}× the route alone by throughput; alone ~${fmt(perCall, 0)} µs more per storage call than the route`);
}
console.log('target (issue 11): 10 gets + 1 put ≤ 2× hello');

// The runner library in this process: the same four cases, 8 executions in flight, CPU of this
// process (all threads: main, workers, LMDB's) per execution.
{
  const cpuMicros = () => {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10_000; // USER_HZ 100
  };
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-bench-storage-'));
  const key = generateSigningKey();
  const packed = packProjectDir(fileURLToPath(new URL('../test/guests/misbehave', import.meta.url)));
  storeBundle(join(dataDir, 'bundles'), packed.bytes, packed.hash);
  storeSignatureFile(join(dataDir, 'bundles'), packed.hash, addSignature(undefined, packed.hash, signContentHash(packed.hash, key)));
  const inProcess = createRunner({
    dataDir,
    bundleDir: join(dataDir, 'bundles'),
    trustBundle: { version: 1, keys: [{ keyId: key.keyId, publisher: 'test', publicKey: key.publicKey }] },
    workers,
    concurrency: { perTenant: 1000, perExtension: 1000, queueMax: 1000 },
  });
  const requests = cases.map(({ body: payload }) => ({ ...JSON.parse(payload), context: { ...JSON.parse(payload).context, content_hash: packed.hash } }));
  const run = async (request: unknown, count: number) => {
    let next = 0;
    const started = performance.now();
    const cpuBefore = cpuMicros();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next++ < count) {
          const result = await inProcess.execute(request);
          if (!result.ok) throw result.error;
        }
      }),
    );
    return { perSecond: count / ((performance.now() - started) / 1000), cpu: (cpuMicros() - cpuBefore) / count };
  };
  for (const request of requests) await run(request, 100);
  const inProcessRounds: Array<Array<{ perSecond: number; cpu: number }>> = [];
  for (let round = 1; round <= rounds; round++) {
    const measured: Array<{ perSecond: number; cpu: number }> = [];
    for (const request of requests) measured.push(await run(request, 1500));
    inProcessRounds.push(measured);
    console.log(`in process, round ${round}: ` + cases.map(({ name }, index) => `${name}: ${fmt(measured[index].perSecond, 0)}/s, ${fmt(measured[index].cpu, 0)} µs CPU (${fmt(measured[index].cpu / measured[0].cpu, 2)}×)`).join('; '));
  }
  await inProcess.close();
  rmSync(dataDir, { recursive: true, force: true });
  console.log(`median of ${rounds} rounds in process (${workers} workers, 8 in flight):`);
  for (const [index, { name }] of cases.entries()) {
    const cpu = median(inProcessRounds.map((measured) => measured[index].cpu));
    const ratio = median(inProcessRounds.map((measured) => measured[index].cpu / measured[0].cpu));
    console.log(`  ${name.padEnd(20)} ${fmt(cpu, 0).padStart(5)} µs CPU per execution${index === 0 ? '' : `, ${fmt(ratio, 2)}× hello`}`);
  }
}
