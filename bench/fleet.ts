// The fleet against the embedded default, in one run:
//  1. gateway throughput and p99 with the state in PostgreSQL + Redis against LMDB + in-process
//     quotas (each host with its own runner child), in alternating rounds, for a hello call and
//     for an alga.storage write; plus the cost of one host-store write on each engine;
//  2. one runner against three (each one worker), behind a fleet host, with CPU per request
//     (host + runners + the PostgreSQL backends serving them, from /proc).
// Needs PostgreSQL at 127.0.0.1:5432 and Redis at 127.0.0.1:6379 (as the tests), and the built
// examples (run the tests once). Run: node --import tsx bench/fleet.ts
// (BENCH_DURATION_S, BENCH_CONNECTIONS, BENCH_ROUNDS to change the load)
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import pg from 'pg';
import { createAuditLog } from '../host/core/audit.ts';
import { createAuth } from '../host/core/auth/index.ts';
import { coreMigrations } from '../host/core/core-migrations.ts';
import { joinFleet } from '../host/core/fleet-secrets.ts';
import { ensureInfraSecrets } from '../host/core/infra-secrets.ts';
import { openPostgresStore } from '../host/core/postgres/postgres-store.ts';
import { freePort } from '../host/core/runner/free-port.ts';
import { openStore, type HostStore } from '../host/core/store.ts';
import { uploadBundle } from '../host/plugins/extensions/registry/publish-client.ts';
import { contentHashOf, packBundle, parseManifest, type Manifest } from '../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash } from '../lib/signing/index.ts';
import { createTestDatabase } from '../test/support/postgres.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const duration = Number(process.env.BENCH_DURATION_S ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const redisUrl = 'redis://127.0.0.1:6379';
const redisPrefix = `bench-fleet-${process.pid}`;

interface Load {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function load(url: string, options: { method?: string; body?: string; headers?: Record<string, string>; requests?: Array<{ path: string }> } = {}): Promise<Load> {
  const result = await autocannon({ url, method: options.method ?? 'GET', body: options.body, headers: options.headers, requests: options.requests, connections, duration });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors };
}

function child(args: string[], env: Record<string, string>): ChildProcess {
  return spawn(process.execPath, args, { cwd: repoRoot, env: { ...process.env, ALGA_LOG_LEVEL: 'warn', RUNNER_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function waitFor(url: string, what: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 200))) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
  }
  throw new Error(`${what} did not come up at ${url}`);
}

/** CPU time (user + system, µs, every thread) a process has used so far (Linux /proc). */
function cpuMicros(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
  } catch {
    return 0;
  }
}

/** Calls until one answers 200 (a cold bundle compiles on its runner first; on a busy machine that can outlast a call's deadline). */
async function warmUp(url: string, init: RequestInit, times: number): Promise<void> {
  let answered = 0;
  for (let attempt = 0; answered < times; attempt++) {
    const answer = await fetch(url, init);
    const text = await answer.text();
    if (answer.status === 200) answered++;
    else if (attempt > times + 20) throw new Error(`warm-up ${url} answered ${answer.status}: ${text}`);
  }
}

const stop = (process: ChildProcess) => new Promise<void>((resolve) => (process.exitCode !== null ? resolve() : (process.once('exit', () => resolve()), process.kill('SIGTERM'))));

const work = mkdtempSync(join(tmpdir(), 'alga-bench-fleet-'));
const processes: ChildProcess[] = [];
const database = await createTestDatabase('bench_fleet');
const pgAdmin = new pg.Client({ connectionString: database.url });
await pgAdmin.connect();

/** PostgreSQL backends serving this bench's database (their CPU counts for the fleet). */
async function backendPids(): Promise<number[]> {
  const { rows } = await pgAdmin.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database.name]);
  return rows.map((row) => row.pid);
}

function sign(bytes: Uint8Array, key: ReturnType<typeof generateSigningKey>) {
  const hash = contentHashOf(bytes);
  return addSignature(undefined, hash, signContentHash(hash, key));
}

function bundleOf(dir: string, change: (manifest: Manifest) => Manifest = (manifest) => manifest): Uint8Array {
  const manifest = change(parseManifest(readFileSync(join(dir, 'manifest.json'))));
  return packBundle({ manifest, component: readFileSync(join(dir, 'dist', 'component.wasm')), ui: new Map([['index.html', new TextEncoder().encode('<!doctype html>')]]) });
}

/** Tenant + tokens straight into a store (as `alga-host tenant|token create` do). */
function provision(store: HostStore): { publisher: string; testPublisher: string; tenant: string } {
  store.migrate('core', coreMigrations);
  const auth = createAuth({ store, audit: createAuditLog(store) });
  auth.createTenant({ id: 'bench', name: 'Bench' });
  return {
    publisher: auth.createToken({ kind: 'publisher', publisher: 'example' }).token,
    testPublisher: auth.createToken({ kind: 'publisher', publisher: 'test' }).token,
    tenant: auth.createToken({ kind: 'tenant', tenantId: 'bench' }).token,
  };
}

/** µs per host-store write: one at a time, and 100 to a transaction. */
function storeWriteCost(store: HostStore, label: string): { single: number; batched: number } {
  const db = store.db<{ at: number; label: string }, [string, number]>('bench.writes');
  const single = 300;
  let started = performance.now();
  for (let index = 0; index < single; index++) db.putSync([label, index], { at: Date.now(), label });
  const singleMicros = ((performance.now() - started) * 1000) / single;
  started = performance.now();
  for (let batch = 0; batch < 10; batch++) store.transaction(() => {
    for (let index = 0; index < 100; index++) db.putSync([label, 1000 + batch * 100 + index], { at: Date.now(), label });
  });
  return { single: singleMicros, batched: ((performance.now() - started) * 1000) / 1000 };
}

const row = (name: string, r: Load, cpu?: number) =>
  `${name.padEnd(44)} ${r.rps.toFixed(0).padStart(6)} req/s   p50 ${r.p50.toFixed(1).padStart(6)} ms   p99 ${r.p99.toFixed(1).padStart(6)} ms${cpu === undefined ? '' : `   ${cpu.toFixed(0).padStart(5)} µs CPU/req`}   non-2xx ${r.non2xx} errors ${r.errors}`;

try {
  const key = generateSigningKey();
  const testKey = generateSigningKey();
  const trustPath = join(work, 'trust.json');
  writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }, { keyId: testKey.keyId, publisher: 'test', publicKey: testKey.publicKey }] }));
  const helloDir = join(repoRoot, 'examples', 'hello');
  const storageDir = join(repoRoot, 'test', 'guests', 'misbehave');
  const hello = bundleOf(helloDir);
  const storageGuest = bundleOf(storageDir);
  const limits = { requestsPerMinute: 100_000_000, maxConcurrency: 1024 };
  const ceilings = { EXT_RATE_LIMIT_PER_MINUTE: '100000000', EXT_MAX_CONCURRENCY: '1024', EXT_GATEWAY_TIMEOUT_MS: '30000' };

  // ---- 1. embedded (LMDB, in-process quotas) against PostgreSQL + Redis, each host with its runner child.
  const embeddedDir = join(work, 'embedded');
  const fleetDir = join(work, 'fleet');
  ensureInfraSecrets(embeddedDir, { profile: 'appliance' });
  const fleetSecrets = ensureInfraSecrets(fleetDir, { profile: 'appliance' });
  const embeddedStore = openStore(embeddedDir);
  const embeddedTokens = provision(embeddedStore);
  await embeddedStore.close();
  const fleetStore = openPostgresStore({ url: database.url });
  joinFleet(fleetStore, fleetSecrets);
  const fleetTokens = provision(fleetStore);

  const [embeddedPort, fleetPort] = [await freePort(), await freePort()];
  const hosts = {
    embedded: { url: `http://127.0.0.1:${embeddedPort}`, dir: embeddedDir, tokens: embeddedTokens, process: child(['bin/alga-host.js', 'start', '--data', embeddedDir, '--port', String(embeddedPort), '--profile', 'appliance'], { SIGNING_TRUST_BUNDLE: trustPath, ...ceilings }) },
    fleet: {
      url: `http://127.0.0.1:${fleetPort}`, dir: fleetDir, tokens: fleetTokens,
      process: child(['bin/alga-host.js', 'start', '--data', fleetDir, '--port', String(fleetPort), '--profile', 'appliance', '--database', database.url, '--redis', redisUrl], { SIGNING_TRUST_BUNDLE: trustPath, ALGA_REDIS_PREFIX: redisPrefix, ...ceilings }),
    },
  };
  processes.push(hosts.embedded.process, hosts.fleet.process);
  await Promise.all(Object.values(hosts).map((host) => waitFor(`${host.url}/readyz`, 'host')));

  for (const host of Object.values(hosts)) {
    for (const [bytes, signer, publisher] of [[hello, key, host.tokens.publisher], [storageGuest, testKey, host.tokens.testPublisher]] as const) {
      const published = await uploadBundle({ registryUrl: host.url, token: publisher, bytes, signatureFile: sign(bytes, signer) });
      if (published.status !== 201) throw new Error(`publish failed: ${JSON.stringify(published.body)}`);
    }
    for (const extensionId of ['com.example.hello', 'test.guests.misbehave']) {
      const installed = await fetch(`${host.url}/api/installs`, { method: 'POST', headers: { authorization: `Bearer ${host.tokens.tenant}`, 'content-type': 'application/json' }, body: JSON.stringify({ extensionId, limits, grants: extensionId === 'test.guests.misbehave' ? ['alga.storage'] : [], egress: [] }) });
      if (installed.status !== 201) throw new Error(`install failed: ${await installed.text()}`);
    }
  }

  const runnerPid = (dir: string) => Number(readFileSync(join(dir, 'run', 'runner.pid'), 'utf8').trim());
  const cases = {
    hello: { path: '/api/ext/com.example.hello/hello', method: 'GET', body: undefined },
    'alga.storage put': { path: '/api/ext/test.guests.misbehave/storage/put?key=counter', method: 'POST', body: 'a value of some thirty bytes..' },
  } as const;
  for (const host of Object.values(hosts)) {
    for (const testCase of Object.values(cases)) {
      await warmUp(`${host.url}${testCase.path}`, { method: testCase.method, body: testCase.body, headers: { authorization: `Bearer ${host.tokens.tenant}` } }, 20);
    }
  }

  console.log(`\nfleet bench — autocannon, ${connections} connections, ${duration}s each, ${rounds} alternating rounds, loopback (load: ${readFileSync('/proc/loadavg', 'utf8').trim()})`);
  console.log('\n1. the same host with its runner child: embedded (LMDB + in-process quotas) vs PostgreSQL + Redis');
  const results: Record<string, Record<string, Load[]>> = { embedded: {}, fleet: {} };
  for (let round = 1; round <= rounds; round++) {
    for (const [caseName, testCase] of Object.entries(cases)) {
      for (const [name, host] of Object.entries(hosts)) {
        const pids = [host.process.pid!, runnerPid(host.dir), ...(name === 'fleet' ? await backendPids() : [])];
        const before = pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
        const result = await load(`${host.url}${testCase.path}`, { method: testCase.method, body: testCase.body, headers: { authorization: `Bearer ${host.tokens.tenant}` } });
        const cpu = (pids.reduce((sum, pid) => sum + cpuMicros(pid), 0) - before) / (result.rps * duration);
        (results[name][caseName] ??= []).push(result);
        console.log(row(`round ${round} ${caseName.padEnd(17)} ${name}`, result, cpu));
      }
      const [embedded, fleet] = [results.embedded[caseName].at(-1)!, results.fleet[caseName].at(-1)!];
      console.log(`        ${caseName}: fleet/embedded throughput ${(fleet.rps / embedded.rps).toFixed(2)}, p99 ${(fleet.p99 / Math.max(embedded.p99, 0.1)).toFixed(2)}x`);
    }
  }

  const scratch = openStore(join(work, 'scratch'));
  const lmdbCost = storeWriteCost(scratch, 'lmdb');
  const pgCost = storeWriteCost(fleetStore, 'pg');
  await scratch.close();
  console.log(`\nhost store write (putSync): LMDB ${lmdbCost.single.toFixed(0)} µs alone, ${lmdbCost.batched.toFixed(1)} µs each in a transaction of 100;` +
    ` PostgreSQL ${pgCost.single.toFixed(0)} µs alone, ${pgCost.batched.toFixed(1)} µs each in a transaction of 100`);
  await fleetStore.close();
  await Promise.all([stop(hosts.embedded.process), stop(hosts.fleet.process)]);

  // ---- 2. one runner against three, behind a fleet host (each runner one worker).
  const runners: Array<{ url: string; process: ChildProcess }> = [];
  for (let index = 0; index < 3; index++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    runners.push({
      url,
      process: child(['bin/alga-runner.js', '--port', String(port), '--database', database.url], {
        RUNNER_SERVICE_TOKEN: fleetSecrets.runnerServiceToken, RUNNER_SECRET_KEY: fleetSecrets.runnerKeyPair.secretKey,
        SIGNING_TRUST_BUNDLE: trustPath, RUNNER_DATA_DIR: join(work, `runner-${index}`), RUNNER_WORKERS: '1',
      }),
    });
  }
  processes.push(...runners.map((runner) => runner.process));
  await Promise.all(runners.map((runner) => waitFor(`${runner.url}/healthz`, 'runner')));
  // Three bundles (hello under three names) so the calls spread over every runner by content hash.
  const names = ['com.example.hello-a', 'com.example.hello-b', 'com.example.hello-c'];
  const [onePort, threePort] = [await freePort(), await freePort()];
  // Two more nodes of the same fleet: the same secrets, each its own data folder.
  const [oneDir, threeDir] = [join(work, 'node-1'), join(work, 'node-3')];
  for (const dir of [oneDir, threeDir]) cpSync(join(fleetDir, 'secrets'), join(dir, 'secrets'), { recursive: true });
  const routed = {
    '1 runner': { url: `http://127.0.0.1:${onePort}`, process: child(['bin/alga-host.js', 'start', '--data', oneDir, '--port', String(onePort), '--profile', 'appliance', '--database', database.url, '--redis', redisUrl, '--runner', runners[0].url], { SIGNING_TRUST_BUNDLE: trustPath, ALGA_REDIS_PREFIX: redisPrefix, ...ceilings }), runners: runners.slice(0, 1) },
    '3 runners': { url: `http://127.0.0.1:${threePort}`, process: child(['bin/alga-host.js', 'start', '--data', threeDir, '--port', String(threePort), '--profile', 'appliance', '--database', database.url, '--redis', redisUrl, '--runner', ...runners.map((runner) => runner.url)], { SIGNING_TRUST_BUNDLE: trustPath, ALGA_REDIS_PREFIX: redisPrefix, ...ceilings }), runners },
  };
  processes.push(...Object.values(routed).map((host) => host.process));
  await Promise.all(Object.values(routed).map((host) => waitFor(`${host.url}/readyz`, 'host')));
  for (const name of names) {
    const bytes = bundleOf(helloDir, (manifest) => ({ ...manifest, name }));
    const published = await uploadBundle({ registryUrl: routed['1 runner'].url, token: fleetTokens.publisher, bytes, signatureFile: sign(bytes, key) });
    if (published.status !== 201) throw new Error(`publish failed: ${JSON.stringify(published.body)}`);
    const installed = await fetch(`${routed['1 runner'].url}/api/installs`, { method: 'POST', headers: { authorization: `Bearer ${fleetTokens.tenant}`, 'content-type': 'application/json' }, body: JSON.stringify({ extensionId: name, limits, grants: [], egress: [] }) });
    if (installed.status !== 201) throw new Error(`install failed: ${await installed.text()}`);
  }
  const requests = names.map((name) => ({ path: `/api/ext/${name}/hello` }));
  for (const host of Object.values(routed)) {
    // Calls at once, so every runner a bundle is spread over (two of them) compiles it before the rounds.
    for (const request of requests) await Promise.all(Array.from({ length: 8 }, () => warmUp(`${host.url}${request.path}`, { headers: { authorization: `Bearer ${fleetTokens.tenant}` } }, 5)));
  }
  console.log('\n2. a fleet host calling one runner vs three (one worker each), three bundles of hello');
  for (let round = 1; round <= rounds; round++) {
    for (const [name, host] of Object.entries(routed)) {
      const hostPids = [host.process.pid!];
      const runnerPids = host.runners.map((runner) => runner.process.pid!);
      const dbPids = await backendPids();
      const before = { host: hostPids.reduce((s, p) => s + cpuMicros(p), 0), runners: runnerPids.reduce((s, p) => s + cpuMicros(p), 0), db: dbPids.reduce((s, p) => s + cpuMicros(p), 0) };
      const result = await load(host.url, { headers: { authorization: `Bearer ${fleetTokens.tenant}` }, requests });
      const count = result.rps * duration;
      const perRequest = {
        host: (hostPids.reduce((s, p) => s + cpuMicros(p), 0) - before.host) / count,
        runners: (runnerPids.reduce((s, p) => s + cpuMicros(p), 0) - before.runners) / count,
        db: (dbPids.reduce((s, p) => s + cpuMicros(p), 0) - before.db) / count,
      };
      console.log(`${row(`round ${round} ${name}`, result, perRequest.host + perRequest.runners + perRequest.db)}   (host ${perRequest.host.toFixed(0)}, runners ${perRequest.runners.toFixed(0)}, PostgreSQL ${perRequest.db.toFixed(0)} µs)`);
    }
  }
} finally {
  await Promise.all(processes.map(stop));
  await pgAdmin.end();
  await database.drop();
  rmSync(work, { recursive: true, force: true });
}
