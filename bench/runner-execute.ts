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
const plain = await startChild(['plain']);
await load({ url: `${plain.info.url}/hello`, duration: warmUpSeconds });
const plainResult = await load({ url: `${plain.info.url}/hello`, pid: plain.child.pid });
await plain.stop();
console.log(row('plain fastify GET /hello', plainResult));

const maxWorkers = Math.max(2, availableParallelism());
const runner = await startChild(['runner', String(maxWorkers)]);
const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
const execute = (body: string, duration?: number) => load({ url: `${url}/v1/execute`, method: 'POST', body, headers, duration, pid: runner.child.pid });

for (const isolation of ['tenant', 'request']) {
  const body = executeBody(hashes.hello, '/hello', { isolation });
  for (let warm = 0; warm < 20; warm++) await post(`${url}/v1/execute`, token, body); // load, verify, transpile, compile, instantiate
  await execute(body, warmUpSeconds); // V8 optimises the hot wasm functions in the background during the first seconds
  console.log(row(`runner /v1/execute hello, ${isolation} policy`, await execute(body), plainResult));
}
await runner.stop();

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

// Body throughput through /v1/execute (base64 in JSON both ways) with the echo route.
const bodies = await startChild(['runner', String(maxWorkers)]);
for (const size of [1024, 64 * 1024, 1024 * 1024]) {
  // 128 MB: the guest's GC first collects at ~64 MB of garbage; below that a 1 MB stream recycles the instance often
  const body = executeBody(bodies.info.hashes!.misbehave, '/echo', { method: 'POST', body: new Uint8Array(size).fill(97), limits: { memory_mb: 128 } });
  const echo = (duration?: number) => load({ url: `${bodies.info.url}/v1/execute`, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${bodies.info.token}` }, connections: 4, duration, pid: bodies.child.pid });
  await post(`${bodies.info.url}/v1/execute`, bodies.info.token!, body);
  await echo(warmUpSeconds);
  const result = await echo();
  console.log(`${`echo ${size / 1024} KB`.padEnd(44)} ${fmt(result.rps, 0).padStart(7)} req/s  ${fmt((result.rps * size) / 1048576).padStart(7)} MB/s each way  p50 ${fmt(result.p50)} ms  cpu ${fmt(result.cpuMicrosPerRequest ?? NaN, 0)} µs/req${result.non2xx ? `  (${result.non2xx} non-2xx)` : ''}`);
}
// The same through the frame form (lib/execute-frame.ts, what the host gateway sends): raw bytes, no base64.
for (const size of [1024, 64 * 1024, 1024 * 1024]) {
  const envelope = JSON.parse(executeBody(bodies.info.hashes!.misbehave, '/echo', { method: 'POST', limits: { memory_mb: 128 } }));
  delete envelope.http.body_b64;
  const frame = Buffer.concat(encodeExecuteFrame(envelope, new Uint8Array(size).fill(97)));
  const headers = { 'content-type': executeFrameType, accept: executeFrameType, authorization: `Bearer ${bodies.info.token}` };
  const echo = (duration?: number) => load({ url: `${bodies.info.url}/v1/execute`, method: 'POST', body: frame, headers, connections: 4, duration, pid: bodies.child.pid });
  await echo(warmUpSeconds);
  const result = await echo();
  console.log(`${`echo ${size / 1024} KB, frame form`.padEnd(44)} ${fmt(result.rps, 0).padStart(7)} req/s  ${fmt((result.rps * size) / 1048576).padStart(7)} MB/s each way  p50 ${fmt(result.p50)} ms  cpu ${fmt(result.cpuMicrosPerRequest ?? NaN, 0)} µs/req${result.non2xx ? `  (${result.non2xx} non-2xx)` : ''}`);
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
