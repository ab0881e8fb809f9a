// The call path's cost: the same examples/hello call through the host gateway, straight to the
// runner (`POST /v1/execute`), and a plain fastify route (the floor), measured with autocannon in
// alternating rounds, each ratio taken within its round; the CPU each process and thread spends
// per call (from /proc), against the guest call's own cost measured in the same run
// (bench/guest-floor.ts); and the time to publish a ~12 MB signed bundle against uploading the
// same bytes to a route that discards them.
//
// Run: node --import tsx bench/gateway.ts
//   BENCH_DURATION_S (5), BENCH_CONNECTIONS (8), BENCH_ROUNDS (3)
//   BENCH_COMPARE_TREE=/path/to/other/checkout  also runs that checkout's host and runner, in turns
//     with this one's (old code against new, side by side; it needs node_modules and the built
//     examples, e.g. a `git worktree` of an older commit with node_modules linked)
//   BENCH_PROFILE_DIR=dir  writes CPU profiles of this tree's host and runner there
//   BENCH_RUNNER_FLAGS, BENCH_HOST_FLAGS  extra node/V8 flags for the runner and host processes
//     (e.g. "--max-semi-space-size=64" or "--single-threaded-gc"), for trying them side by side
//   BENCH_ONLY=gateway|direct|channel|host  runs only that load (with the plain route), for a profile of one path;
//     `host` is the host alone: a gateway call for an extension the tenant has not installed (404,
//     the caller's checks and the install lookup, no runner)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { createAuditLog } from '../host/core/audit.ts';
import { createAuth } from '../host/core/auth/index.ts';
import { ensureInfraSecrets } from '../host/core/infra-secrets.ts';
import { freePort } from '../host/core/runner/free-port.ts';
import { openStore } from '../host/core/store.ts';
import { uploadBundle } from '../host/plugins/extensions/registry/publish-client.ts';
import { createRunnerClient, type ExecuteCall } from '../host/plugins/extensions/gateway/runner-client.ts';
import { contentHashOf, packBundle, parseManifest } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash } from '../lib/signing/index.ts';
import { guestCallCpuMicros } from './guest-floor-run.ts';
import { cpuSplit, perCall, threadCpu, type CpuSplit } from './thread-cpu.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const duration = Number(process.env.BENCH_DURATION_S ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const runnerWorkers = Number(process.env.BENCH_RUNNER_WORKERS ?? 2);
const profileDir = process.env.BENCH_PROFILE_DIR ? resolve(process.env.BENCH_PROFILE_DIR) : undefined;
/** The loads: through the gateway, at the runner over HTTP, at the runner through the host's client, and the host alone. */
type Via = 'gateway' | 'direct' | 'channel' | 'host';
const only = process.env.BENCH_ONLY as Via | undefined;

interface Load {
  rps: number;
  requests: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, options: { method?: string; body?: string; headers?: Record<string, string>; duration?: number } = {}): Promise<Load> {
  const result = await autocannon({ url, method: options.method ?? 'GET', body: options.body, headers: options.headers, connections, duration: options.duration ?? duration });
  return { rps: result.requests.average, requests: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

/** Node flags for a process of the stack, from a space-separated environment variable. */
function nodeFlags(variable: string): string[] {
  return (process.env[variable] ?? '').split(' ').filter(Boolean);
}

function child(root: string, args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitFor(url: string, what: string): Promise<void> {
  for (const deadline = Date.now() + 90_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
  }
  throw new Error(`${what} did not come up at ${url}`);
}

/** examples/hello (one ~11.5 MB SpiderMonkey component) plus UI files, packed to 12 MiB. */
function twelveMegabyteHello() {
  const dir = join(repoRoot, 'examples', 'hello');
  const manifest = { ...parseManifest(readFileSync(join(dir, 'manifest.json'))), ui: { iframe: { entry: 'index.html' } } };
  const component = readFileSync(join(dir, 'dist', 'component.wasm'));
  const index = new TextEncoder().encode('<!doctype html><title>hello</title>');
  const padding = 12 * 1048576 - component.byteLength - 8 * 1024;
  const ui = new Map<string, Uint8Array>([['index.html', index], ['assets/data.bin', randomBytes(Math.max(padding, 0))]]);
  const bytes = packBundle({ manifest, component, ui });
  return { bytes, hash: contentHashOf(bytes) };
}

const stop = (process: ChildProcess) => new Promise<void>((resolve) => (process.exitCode !== null || process.signalCode !== null ? resolve() : (process.once('exit', () => resolve()), process.kill('SIGTERM'))));

/** A host and its runner (a separate process, reached through RUNNER_BASE_URL) from one checkout. */
interface Stack {
  label: string;
  host: ChildProcess;
  runner: ChildProcess;
  hostUrl: string;
  runnerUrl: string;
  gatewayUrl: string;
  gatewayHeaders: Record<string, string>;
  directBody: string;
  directHeaders: Record<string, string>;
  publishMs: number;
}

const work = mkdtempSync(join(tmpdir(), 'alga-bench-gateway-'));
const processes: ChildProcess[] = [];
const key = generateSigningKey();
const trustPath = join(work, 'trust.json');
writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }] }));
const hello = twelveMegabyteHello();
const signatureFile = addSignature(undefined, hello.hash, signContentHash(hello.hash, key));

async function startStack(label: string, root: string, index: number): Promise<Stack> {
  const dataDir = join(work, `data-${index}`);
  // Secrets and tokens in the data folder before anything starts.
  const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
  const store = openStore(dataDir);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'bench', name: 'Bench' });
  const publisherToken = auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  const tenantToken = auth.createToken({ kind: 'tenant', tenantId: 'bench' }).token;
  await store.close();

  const [runnerPort, hostPort] = [await freePort(), await freePort()];
  const runnerUrl = `http://127.0.0.1:${runnerPort}`;
  const hostUrl = `http://127.0.0.1:${hostPort}`;
  const profile = (name: string) => (profileDir && index === 0 ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, name)}`] : []);
  const runner = child(root, [...profile('runner'), ...nodeFlags('BENCH_RUNNER_FLAGS'), 'bin/alga-runner.js'], {
    RUNNER_PORT: String(runnerPort), RUNNER_SERVICE_TOKEN: secrets.runnerServiceToken, RUNNER_SECRET_KEY: secrets.runnerKeyPair.secretKey, RUNNER_WORKERS: String(runnerWorkers),
    SIGNING_TRUST_BUNDLE: trustPath, RUNNER_DATA_DIR: join(dataDir, 'runner'), RUNNER_BUNDLE_DIR: join(dataDir, 'bundles'),
  });
  processes.push(runner);
  const host = child(root, [...profile('host'), ...nodeFlags('BENCH_HOST_FLAGS'), 'bin/alga-host.js', 'start', '--data', dataDir, '--port', String(hostPort), '--profile', 'appliance'], {
    RUNNER_BASE_URL: runnerUrl, SIGNING_TRUST_BUNDLE: trustPath, ALGA_LOG_LEVEL: 'warn', EXT_RATE_LIMIT_PER_MINUTE: '100000000', EXT_MAX_CONCURRENCY: '1024',
  });
  processes.push(host);
  await Promise.all([waitFor(`${runnerUrl}/healthz`, `${label} runner`), waitFor(`${hostUrl}/readyz`, `${label} host`)]);

  const publishStarted = performance.now();
  const published = await uploadBundle({ registryUrl: hostUrl, token: publisherToken, bytes: hello.bytes, signatureFile });
  const publishMs = performance.now() - publishStarted;
  if (published.status !== 201) throw new Error(`publish failed: ${JSON.stringify(published.body)}`);
  const installed = await fetch(`${hostUrl}/api/installs`, {
    method: 'POST', headers: { authorization: `Bearer ${tenantToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ extensionId: 'com.example.hello', limits: { requestsPerMinute: 100000000, maxConcurrency: 1024 } }),
  });
  if (installed.status !== 201) throw new Error(`install failed: ${await installed.text()}`);
  const install = (await installed.json()).install;

  const stack: Stack = {
    label, host, runner, hostUrl, runnerUrl, publishMs,
    gatewayUrl: `${hostUrl}/api/ext/com.example.hello/hello`,
    gatewayHeaders: { authorization: `Bearer ${tenantToken}` },
    directBody: JSON.stringify({
      context: { tenant_id: 'bench', extension_id: 'com.example.hello', install_id: install.id, version: '1.0.0', content_hash: hello.hash },
      http: { method: 'GET', path: '/hello', query: '', headers: {} },
      limits: { timeout_ms: 5000, memory_mb: 64 }, config: {}, providers: [], egress: [], isolation: 'tenant',
    }),
    directHeaders: { authorization: `Bearer ${secrets.runnerServiceToken}`, 'content-type': 'application/json' },
  };
  // Warm up: transpile + compile once (straight at the runner: on a loaded machine the first call
  // can take longer than the gateway's deadline), fill the worker pool, let V8 optimise the hot paths.
  const first = await fetch(`${runnerUrl}/v1/execute`, { method: 'POST', body: stack.directBody, headers: stack.directHeaders });
  if (first.status !== 200) throw new Error(`${label}: the runner answers ${first.status}: ${await first.text()}`);
  for (let i = 0; i < 20; i++) {
    const answer = await fetch(stack.gatewayUrl, { headers: stack.gatewayHeaders });
    if (answer.status !== 200) {
      const direct = await fetch(`${runnerUrl}/v1/execute`, { method: 'POST', body: stack.directBody, headers: stack.directHeaders });
      throw new Error(`${label}: warm-up call answered ${answer.status}: ${await answer.text()}; the runner itself answers ${direct.status}: ${await direct.text()}`);
    }
  }
  await load(stack.gatewayUrl, { headers: stack.gatewayHeaders, duration: 2 });
  await load(`${runnerUrl}/v1/execute`, { method: 'POST', body: stack.directBody, headers: stack.directHeaders, duration: 2 });
  return stack;
}

interface Measured {
  load: Load;
  host?: CpuSplit;
  runner: CpuSplit;
}

/**
 * `connections` callers, one call at a time each, through the host's runner client (this tree's):
 * the execute channel, or HTTP for a runner without it. The load generator is this process, as
 * autocannon is for the other loads.
 */
async function channelLoad(stack: Stack): Promise<Load> {
  const client = createRunnerClient();
  const { context, http, ...install } = JSON.parse(stack.directBody) as ExecuteCall['envelope'] & Record<string, unknown>;
  const runner = { baseUrl: stack.runnerUrl, serviceToken: stack.directHeaders.authorization.slice('Bearer '.length) };
  const call = () => client.call(runner, { envelope: { context, http }, install, body: new Uint8Array(), timeoutMs: 10_000 });
  await call();
  const latencies: number[] = [];
  let non2xx = 0;
  let errors = 0;
  const started = performance.now();
  const until = started + duration * 1000;
  await Promise.all(Array.from({ length: connections }, async () => {
    while (performance.now() < until) {
      const callStarted = performance.now();
      try {
        const answer = await call();
        if (!answer.ok || answer.status !== 200) non2xx++;
      } catch {
        errors++;
      }
      latencies.push(performance.now() - callStarted);
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  client.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { rps: latencies.length / seconds, requests: latencies.length, p50: at(0.5), p99: at(0.99), non2xx, errors };
}

/** A load (through the gateway, at the runner over HTTP, or at the runner over the channel) with the CPU per call of the host (if any) and the runner, by thread. */
async function measure(stack: Stack, via: Via): Promise<Measured> {
  const before = { host: threadCpu(stack.host.pid), runner: threadCpu(stack.runner.pid) };
  const result = via === 'gateway'
    ? await load(stack.gatewayUrl, { headers: stack.gatewayHeaders })
    : via === 'host'
      ? await load(stack.gatewayUrl.replace('com.example.hello', 'com.example.absent'), { headers: stack.gatewayHeaders })
    : via === 'channel'
      ? await channelLoad(stack)
      : await load(`${stack.runnerUrl}/v1/execute`, { method: 'POST', body: stack.directBody, headers: stack.directHeaders });
  const after = { host: threadCpu(stack.host.pid), runner: threadCpu(stack.runner.pid) };
  const calls = Math.max(result.requests, 1);
  return {
    load: result,
    host: via === 'gateway' || via === 'host' ? perCall(cpuSplit(stack.host.pid, before.host, after.host), calls) : undefined,
    runner: perCall(cpuSplit(stack.runner.pid, before.runner, after.runner, runnerWorkers), calls),
  };
}

const noCpu: CpuSplit = { total: NaN, main: NaN, busiest: NaN, rest: NaN, system: NaN };
/** A load BENCH_ONLY left out: its figures print as '-'. */
const notMeasured: Measured = { load: { rps: NaN, requests: 0, p50: NaN, p99: NaN, non2xx: 0, errors: 0 }, host: noCpu, runner: noCpu };

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toFixed(digits) : '-');
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const loadText = (r: Load) => `${fmt(r.rps).padStart(6)} req/s  p50 ${fmt(r.p50, 1)} ms  p99 ${fmt(r.p99, 1)} ms${r.non2xx || r.errors ? `  (${r.non2xx} non-2xx, ${r.errors} errors)` : ''}`;
const runnerText = (split: CpuSplit) => `runner ${fmt(split.total)} µs (main ${fmt(split.main)}, workers ${fmt(split.busiest)}, other threads ${fmt(split.rest)}; kernel ${fmt(split.system)})`;

try {
  const plainPort = await freePort();
  const plainUrl = `http://127.0.0.1:${plainPort}`;
  const plainScript = `import Fastify from 'fastify';
    const app = Fastify();
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 64 * 1024 * 1024 }, (_r, body, done) => done(null, body));
    app.get('/hello', async () => ({ message: 'Hello, world', tenant: 'bench' }));
    app.post('/upload', async (request) => ({ bytes: request.body.length }));
    await app.listen({ port: ${plainPort}, host: '127.0.0.1' });`;
  const plain = child(repoRoot, ['--input-type=module', '-e', plainScript], {});
  processes.push(plain);
  await waitFor(`${plainUrl}/hello`, 'plain fastify');

  // Publish time for the ~12 MB bundle vs uploading the same bytes to a route that discards them.
  const uploadStarted = performance.now();
  const plainUpload = await fetch(`${plainUrl}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(hello.bytes) });
  const uploadMs = performance.now() - uploadStarted;
  if (!plainUpload.ok) throw new Error('baseline upload failed');

  const stacks = [await startStack('this tree', repoRoot, 0)];
  if (process.env.BENCH_COMPARE_TREE) stacks.push(await startStack('compare tree', resolve(process.env.BENCH_COMPARE_TREE), 1));
  await load(`${plainUrl}/hello`, { duration: 2 });

  console.log(`\ngateway bench — examples/hello, autocannon ${connections} connections, ${duration} s per load, ${rounds} rounds, ${runnerWorkers} runner workers; CPU per call by process and thread`);
  type Round = { plain: Load; plainCpu: number; byStack: { gateway: Measured; direct: Measured; channel: Measured; hostAlone: Measured }[] };
  const byRound: Round[] = [];
  let plainKernel = 0;
  for (let round = 1; round <= rounds; round++) {
    const plainBefore = threadCpu(plain.pid);
    const plainLoad = await load(`${plainUrl}/hello`);
    const plainSplit = perCall(cpuSplit(plain.pid, plainBefore, threadCpu(plain.pid)), Math.max(plainLoad.requests, 1));
    const plainCpu = plainSplit.total;
    plainKernel = plainSplit.system;
    const measured: Round = { plain: plainLoad, plainCpu, byStack: [] };
    for (const stack of stacks) {
      const skipped = (via: Via) => only !== undefined && only !== via;
      measured.byStack.push({
        direct: skipped('direct') ? notMeasured : await measure(stack, 'direct'),
        channel: skipped('channel') ? notMeasured : await measure(stack, 'channel'),
        gateway: skipped('gateway') ? notMeasured : await measure(stack, 'gateway'),
        hostAlone: skipped('host') ? notMeasured : await measure(stack, 'host'),
      });
    }
    byRound.push(measured);
    console.log(`\nround ${round}: plain fastify ${loadText(plainLoad)}  ${fmt(plainCpu)} µs CPU/call (kernel ${fmt(plainKernel)})`);
    stacks.forEach((stack, index) => {
      const { direct, channel, gateway, hostAlone } = measured.byStack[index];
      console.log(`  ${stack.label}: runner direct ${loadText(direct.load)}  ${fmt((100 * direct.load.rps) / plainLoad.rps, 1)} % of plain  ${runnerText(direct.runner)}`);
      console.log(`  ${stack.label}: runner client ${loadText(channel.load)}  ${fmt((100 * channel.load.rps) / plainLoad.rps, 1)} % of plain  ${runnerText(channel.runner)}`);
      console.log(`  ${stack.label}: gateway       ${loadText(gateway.load)}  ${fmt((100 * gateway.load.rps) / plainLoad.rps, 1)} % of plain  host ${fmt(gateway.host!.total)} µs (main ${fmt(gateway.host!.main)}, other ${fmt(gateway.host!.rest)}; kernel ${fmt(gateway.host!.system)}), ${runnerText(gateway.runner)}`);
      console.log(`  ${stack.label}: host alone    ${fmt(hostAlone.load.rps).padStart(6)} req/s (404s: not installed, no runner)  host ${fmt(hostAlone.host!.total)} µs (main ${fmt(hostAlone.host!.main)}; kernel ${fmt(hostAlone.host!.system)})`);
    });
  }

  const floor = await guestCallCpuMicros();
  console.log(`\nguest call alone (bench/guest-floor.ts, this run): ${fmt(floor, 1)} µs`);
  console.log(`medians over ${rounds} rounds (ratios taken within each round):`);
  stacks.forEach((stack, index) => {
    const of = (pick: (round: Round) => number) => median(byRound.map(pick));
    const gatewayRatio = of((round) => round.byStack[index].gateway.load.rps / round.plain.rps);
    const directRatio = of((round) => round.byStack[index].direct.load.rps / round.plain.rps);
    const channelRatio = of((round) => round.byStack[index].channel.load.rps / round.plain.rps);
    const host = of((round) => round.byStack[index].gateway.host!.total);
    const runnerMain = of((round) => round.byStack[index].gateway.runner.main);
    const workers = of((round) => round.byStack[index].gateway.runner.busiest);
    const runnerRest = of((round) => round.byStack[index].gateway.runner.rest);
    const plumbing = host + runnerMain + Math.max(0, workers - floor);
    console.log(`  ${stack.label}: gateway ${fmt(100 * gatewayRatio, 1)} % of plain (p99 ${fmt(of((round) => round.byStack[index].gateway.load.p99), 1)} ms), runner direct (HTTP) ${fmt(100 * directRatio, 1)} %, runner through the host's client ${fmt(100 * channelRatio, 1)} % (p99 ${fmt(of((round) => round.byStack[index].channel.load.p99), 1)} ms), gateway/direct ${fmt(gatewayRatio / directRatio, 2)}`);
    console.log(`    CPU per gateway call: host ${fmt(host)} µs, runner main thread ${fmt(runnerMain)} µs, guest workers ${fmt(workers)} µs (the guest call alone ${fmt(floor)} µs), runner's other threads ${fmt(runnerRest)} µs`);
    console.log(`    plumbing (host + runner main + workers beyond the guest call) ${fmt(plumbing)} µs = ${fmt(plumbing / floor, 2)}× the guest call`);
  });
  console.log(`\npublish ${(hello.bytes.byteLength / 1048576).toFixed(1)} MB signed bundle: ${stacks.map((stack) => `${stack.label} ${fmt(stack.publishMs)} ms`).join(', ')} (verify + store)   baseline upload of the same bytes: ${fmt(uploadMs)} ms`);
} finally {
  await Promise.all(processes.map(stop));
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  rmSync(work, { recursive: true, force: true });
}
