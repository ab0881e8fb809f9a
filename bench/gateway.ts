// Gateway overhead: the same hello call through the host gateway, straight to the runner, and a
// plain fastify route (the floor), each measured with autocannon in this run; plus the time to
// publish a ~12 MB signed bundle against uploading the same bytes to a route that discards them.
// Run: node --import tsx bench/gateway.ts   (BENCH_DURATION_S, BENCH_CONNECTIONS to change the load)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { createAuditLog } from '../host/core/audit.ts';
import { createAuth } from '../host/core/auth/index.ts';
import { ensureInfraSecrets } from '../host/core/infra-secrets.ts';
import { freePort } from '../host/core/runner/free-port.ts';
import { openStore } from '../host/core/store.ts';
import { uploadBundle } from '../host/plugins/extensions/registry/publish-client.ts';
import { contentHashOf, packBundle, parseManifest } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash } from '../lib/signing/index.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const duration = Number(process.env.BENCH_DURATION_S ?? 6);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, options: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<Load> {
  const result = await autocannon({ url, method: options.method ?? 'GET', body: options.body, headers: options.headers, connections, duration });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

function child(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
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

/** CPU time (user + system, ms) a process has used so far (Linux /proc). */
function cpuMs(pid: number | undefined): number {
  if (!pid) return Number.NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return Number.NaN;
  }
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

const stop = (process: ChildProcess) => new Promise<void>((resolve) => (process.exitCode !== null ? resolve() : (process.once('exit', () => resolve()), process.kill('SIGTERM'))));

const work = mkdtempSync(join(tmpdir(), 'alga-bench-gateway-'));
const dataDir = join(work, 'data');
const processes: ChildProcess[] = [];
try {
  // A signing key the host trusts, and the hello example padded to a 12 MiB bundle, signed.
  const key = generateSigningKey();
  const trustPath = join(work, 'trust.json');
  writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }] }));
  const hello = twelveMegabyteHello();
  const signatureFile = addSignature(undefined, hello.hash, signContentHash(hello.hash, key));

  // Secrets and tokens in the data folder before anything starts.
  const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
  const store = openStore(dataDir);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'bench', name: 'Bench' });
  const publisherToken = auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  const tenantToken = auth.createToken({ kind: 'tenant', tenantId: 'bench' }).token;
  await store.close();

  // Runner (separate process, so the bench knows its URL), host using it via RUNNER_BASE_URL, and the plain baseline.
  const [runnerPort, hostPort, plainPort] = [await freePort(), await freePort(), await freePort()];
  const runnerUrl = `http://127.0.0.1:${runnerPort}`;
  const hostUrl = `http://127.0.0.1:${hostPort}`;
  const plainUrl = `http://127.0.0.1:${plainPort}`;
  processes.push(child(['bin/alga-runner.js'], {
    RUNNER_PORT: String(runnerPort), RUNNER_SERVICE_TOKEN: secrets.runnerServiceToken, RUNNER_SECRET_KEY: secrets.runnerKeyPair.secretKey,
    SIGNING_TRUST_BUNDLE: trustPath, RUNNER_DATA_DIR: join(dataDir, 'runner'), RUNNER_BUNDLE_DIR: join(dataDir, 'bundles'),
  }));
  const hostProcess = child([...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), 'bin/alga-host.js', 'start', '--data', dataDir, '--port', String(hostPort), '--profile', 'appliance'], {
    RUNNER_BASE_URL: runnerUrl, SIGNING_TRUST_BUNDLE: trustPath, ALGA_LOG_LEVEL: 'warn', EXT_RATE_LIMIT_PER_MINUTE: '100000000', EXT_MAX_CONCURRENCY: '1024',
  });
  processes.push(hostProcess);
  const plainScript = `import Fastify from 'fastify';
    const app = Fastify();
    app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: 64 * 1024 * 1024 }, (_r, body, done) => done(null, body));
    app.get('/hello', async () => ({ message: 'Hello, world', tenant: 'bench' }));
    app.post('/upload', async (request) => ({ bytes: request.body.length }));
    await app.listen({ port: ${plainPort}, host: '127.0.0.1' });`;
  processes.push(child(['--input-type=module', '-e', plainScript], {}));
  await Promise.all([waitFor(`${runnerUrl}/healthz`, 'runner'), waitFor(`${hostUrl}/readyz`, 'host'), waitFor(`${plainUrl}/hello`, 'plain fastify')]);

  // Publish time for the ~12 MB bundle vs uploading the same bytes to a route that discards them.
  const sizeMb = hello.bytes.byteLength / 1048576;
  const uploadStarted = performance.now();
  const plainUpload = await fetch(`${plainUrl}/upload`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from(hello.bytes) });
  const uploadMs = performance.now() - uploadStarted;
  if (!plainUpload.ok) throw new Error('baseline upload failed');
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

  const gatewayUrl = `${hostUrl}/api/ext/com.example.hello/hello`;
  const gatewayHeaders = { authorization: `Bearer ${tenantToken}` };
  const directBody = JSON.stringify({
    context: { tenant_id: 'bench', extension_id: 'com.example.hello', install_id: install.id, version: '1.0.0', content_hash: hello.hash },
    http: { method: 'GET', path: '/hello', query: '', headers: {} },
    limits: { timeout_ms: 5000, memory_mb: 64 }, config: {}, providers: [], egress: [], isolation: 'tenant',
  });
  const directHeaders = { authorization: `Bearer ${secrets.runnerServiceToken}`, 'content-type': 'application/json' };

  // Warm up: transpile + compile once, fill the worker pool.
  for (let i = 0; i < 20; i++) {
    const answer = await fetch(gatewayUrl, { headers: gatewayHeaders });
    if (answer.status !== 200) {
      const direct = await fetch(`${runnerUrl}/v1/execute`, { method: 'POST', body: directBody, headers: directHeaders });
      throw new Error(`warm-up call answered ${answer.status}: ${await answer.text()}; the runner itself answers ${direct.status}: ${await direct.text()}`);
    }
  }
  await load(gatewayUrl, { headers: gatewayHeaders });

  const plain = await load(`${plainUrl}/hello`);
  const direct = await load(`${runnerUrl}/v1/execute`, { method: 'POST', body: directBody, headers: directHeaders });
  const hostCpuBefore = cpuMs(hostProcess.pid);
  const gateway = await load(gatewayUrl, { headers: gatewayHeaders });
  const hostCpuPerCall = (cpuMs(hostProcess.pid) - hostCpuBefore) / (gateway.rps * duration);

  const row = (name: string, r: Load) =>
    `${name.padEnd(30)} ${r.rps.toFixed(0).padStart(8)} req/s   p50 ${r.p50.toFixed(2).padStart(7)} ms   p99 ${r.p99.toFixed(2).padStart(7)} ms   non-2xx ${r.non2xx} errors ${r.errors}`;
  console.log(`\ngateway bench — autocannon, ${connections} connections, ${duration}s each, loopback`);
  console.log(row('plain fastify route', plain));
  console.log(row('runner /v1/execute (direct)', direct));
  console.log(row('host gateway /api/ext/...', gateway));
  console.log('\nratios');
  console.log(`gateway vs direct runner:   throughput ${(gateway.rps / direct.rps).toFixed(2)}x   p50 ${(gateway.p50 / direct.p50).toFixed(2)}x   p99 ${(gateway.p99 / direct.p99).toFixed(2)}x   (+${(gateway.p50 - direct.p50).toFixed(2)} ms p50)`);
  console.log(`gateway vs plain fastify:   throughput ${(gateway.rps / plain.rps).toFixed(3)}x   p50 ${(gateway.p50 / Math.max(plain.p50, 0.01)).toFixed(1)}x`);
  console.log(`direct runner vs plain:     throughput ${(direct.rps / plain.rps).toFixed(3)}x`);
  console.log(`host CPU per gateway call:  ${hostCpuPerCall.toFixed(3)} ms (the host process alone; runner and load generator share the same cores)`);
  console.log(`\npublish ${sizeMb.toFixed(1)} MB signed bundle: ${publishMs.toFixed(0)} ms (verify + store)   baseline upload of the same bytes: ${uploadMs.toFixed(0)} ms   ratio ${(publishMs / uploadMs).toFixed(1)}x`);
} finally {
  await Promise.all(processes.map(stop));
  rmSync(work, { recursive: true, force: true });
}
