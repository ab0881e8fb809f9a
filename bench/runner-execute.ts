// Warm /v1/execute on examples/hello against a plain fastify route returning the same JSON,
// under both isolation policies and a naive fresh instance per request; echo body throughput;
// throughput from 1 to N workers. Servers run in child processes; autocannon drives them.
// Run: node --import tsx bench/runner-execute.ts   (BENCH_SECONDS=n per run, default 5)
import { availableParallelism } from 'node:os';
import { encodeExecuteFrame, executeFrameType } from '../lib/execute-frame.ts';
import { executeBody, fmt, load, post, startChild, type LoadResult } from './runner-support.ts';

const row = (name: string, result: LoadResult, baseline?: LoadResult) =>
  `${name.padEnd(44)} ${fmt(result.rps, 0).padStart(7)} req/s  p50 ${fmt(result.p50).padStart(6)} ms  p99 ${fmt(result.p99).padStart(6)} ms` +
  (baseline ? `  ${fmt((100 * result.rps) / baseline.rps)}% of plain` : '') +
  (result.cpuMicrosPerRequest !== undefined ? `  cpu ${fmt(result.cpuMicrosPerRequest, 0)} µs/req` : '') +
  (result.errors || result.non2xx ? `  (${result.errors} errors, ${result.non2xx} non-2xx)` : '');

const warmUpSeconds = 2;
const maxWorkers = Math.max(2, availableParallelism());
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

// The plain route and the runner are measured in alternation, several rounds, and each ratio is
// taken within its round: on a shared machine the plain route alone swings by 2x from one minute
// to the next, which a single baseline measured once would pass on to every ratio.
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const plain = await startChild(['plain']);
const runner = await startChild(['runner', String(maxWorkers)]);
const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
const execute = (body: string, duration?: number) => load({ url: `${url}/v1/execute`, method: 'POST', body, headers, duration, pid: runner.child.pid });
const plainHello = (duration?: number) => load({ url: `${plain.info.url}/hello`, duration, pid: plain.child.pid });
const policyBodies = Object.fromEntries(['tenant', 'request'].map((isolation) => [isolation, executeBody(hashes.hello, '/hello', { isolation })]));

await plainHello(warmUpSeconds);
for (const body of Object.values(policyBodies)) {
  for (let warm = 0; warm < 20; warm++) await post(`${url}/v1/execute`, token, body); // load, verify, transpile, compile, instantiate
  await execute(body, warmUpSeconds); // V8 optimises the hot wasm functions in the background during the first seconds
}
const byRound: Array<{ plain: LoadResult; tenant: LoadResult; request: LoadResult }> = [];
for (let round = 1; round <= rounds; round++) {
  const measured = { plain: await plainHello(), tenant: await execute(policyBodies.tenant), request: await execute(policyBodies.request) };
  byRound.push(measured);
  console.log(
    `round ${round}: plain ${fmt(measured.plain.rps, 0)} req/s (${fmt(measured.plain.cpuMicrosPerRequest ?? NaN, 0)} µs CPU), ` +
      `tenant ${fmt(measured.tenant.rps, 0)} (${fmt((100 * measured.tenant.rps) / measured.plain.rps)}%, ${fmt(measured.tenant.cpuMicrosPerRequest ?? NaN, 0)} µs CPU), ` +
      `request ${fmt(measured.request.rps, 0)} (${fmt((100 * measured.request.rps) / measured.plain.rps)}%, ${fmt(measured.request.cpuMicrosPerRequest ?? NaN, 0)} µs CPU)`,
  );
}
await plain.stop();
await runner.stop();
const plainResult = byRound.map((measured) => measured.plain).sort((a, b) => a.rps - b.rps)[Math.floor(rounds / 2)];
console.log(row(`plain fastify GET /hello (median of ${rounds})`, plainResult));
for (const isolation of ['tenant', 'request'] as const) {
  const ratio = median(byRound.map((measured) => (100 * measured[isolation].rps) / measured.plain.rps));
  const result = byRound.map((measured) => measured[isolation]).sort((a, b) => a.rps - b.rps)[Math.floor(rounds / 2)];
  console.log(`${row(`runner /v1/execute hello, ${isolation} policy`, result)}  median ratio ${fmt(ratio)}% of plain`);
}

// A fresh instance for every request, without snapshots (a new tenant each time, so each request
// instantiates) against reusing one instance, both on one connection, one request at a time.
const naive = await startChild(['runner', String(maxWorkers)]);
{
  const sequential = async (bodyFor: (index: number) => string) => {
    const started = performance.now();
    let done = 0;
    while (performance.now() - started < 3000) await post(`${naive.info.url}/v1/execute`, naive.info.token!, bodyFor(done++));
    return done / ((performance.now() - started) / 1000);
  };
  const reuseBody = executeBody(naive.info.hashes!.hello, '/hello');
  for (let warm = 0; warm < 20; warm++) await post(`${naive.info.url}/v1/execute`, naive.info.token!, reuseBody);
  const reuse = await sequential(() => reuseBody);
  const fresh = await sequential((index) => executeBody(naive.info.hashes!.hello, '/hello', { tenant: `naive-${index}` }));
  console.log(`${'sequential, reused instance'.padEnd(44)} ${fmt(reuse, 0).padStart(7)} req/s`);
  console.log(`${'sequential, new instance every request'.padEnd(44)} ${fmt(fresh, 0).padStart(7)} req/s  ${fmt((100 * fresh) / reuse)}% of reuse`);
}
await naive.stop();

// Body throughput through /v1/execute with the echo route, each size in both forms one after the
// other (so both meet the guest in the same state): JSON with base64 both ways, and the frame form
// (lib/execute-frame.ts, what the host gateway sends): raw bytes, no base64.
const bodies = await startChild(['runner', String(maxWorkers)]);
for (const size of [1024, 64 * 1024, 1024 * 1024]) {
  const payload = new Uint8Array(size).fill(97);
  // 128 MB: the guest's GC first collects at ~64 MB of garbage; below that a 1 MB stream recycles the instance often
  const limits = { memory_mb: 128 };
  const envelope = JSON.parse(executeBody(bodies.info.hashes!.misbehave, '/echo', { method: 'POST', limits }));
  delete envelope.http.body_b64;
  const forms: Array<{ label: string; body: string | Buffer; headers: Record<string, string> }> = [
    { label: `echo ${size / 1024} KB`, body: executeBody(bodies.info.hashes!.misbehave, '/echo', { method: 'POST', body: payload, limits }), headers: { 'content-type': 'application/json', authorization: `Bearer ${bodies.info.token}` } },
    { label: `echo ${size / 1024} KB, frame form`, body: Buffer.concat(encodeExecuteFrame(envelope, payload)), headers: { 'content-type': executeFrameType, accept: executeFrameType, authorization: `Bearer ${bodies.info.token}` } },
  ];
  for (const form of forms) {
    const echo = (duration?: number) => load({ url: `${bodies.info.url}/v1/execute`, method: 'POST', body: form.body, headers: form.headers, connections: 4, duration, pid: bodies.child.pid });
    await echo(warmUpSeconds);
    const result = await echo();
    console.log(`${form.label.padEnd(44)} ${fmt(result.rps, 0).padStart(7)} req/s  ${fmt((result.rps * size) / 1048576).padStart(7)} MB/s each way  p50 ${fmt(result.p50)} ms  cpu ${fmt(result.cpuMicrosPerRequest ?? NaN, 0)} µs/req${result.non2xx ? `  (${result.non2xx} non-2xx)` : ''}`);
  }
}
await bodies.stop();

// Throughput from 1 to N workers.
for (let workers = 1; workers <= maxWorkers; workers++) {
  const scaled = await startChild(['runner', String(workers)]);
  const body = executeBody(scaled.info.hashes!.hello, '/hello');
  const hello = (duration?: number) => load({ url: `${scaled.info.url}/v1/execute`, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${scaled.info.token}` }, duration, pid: scaled.child.pid });
  for (let warm = 0; warm < 20; warm++) await post(`${scaled.info.url}/v1/execute`, scaled.info.token!, body);
  await hello(warmUpSeconds);
  const result = await hello();
  console.log(row(`runner hello, ${workers} worker(s)`, result, plainResult));
  await scaled.stop();
}
