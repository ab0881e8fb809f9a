import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { ensureInfraSecrets, secretsDir, type InfraSecrets, type Profile } from '../../host/core/infra-secrets.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { tempDir } from '../host/temp-dir.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';
import { repoRoot } from './projects.ts';

/**
 * A fleet on loopback for tests and benchmarks: a fresh PostgreSQL database, a Redis key prefix
 * of its own, host nodes (`alga-host start --database … --redis … --runner redis`) and runners
 * (`alga-runner --database … --redis …`) as separate processes sharing one secrets folder.
 */

export const redisUrl = process.env.ALGA_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface RunnerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

export type FleetHost = HostProcess & { dataDir: string };

export interface Fleet {
  database: TestDatabase;
  redisPrefix: string;
  secrets: InfraSecrets;
  root: string;
  hosts: FleetHost[];
  runners: RunnerProcess[];
  startHost(options?: { env?: Record<string, string> }): Promise<FleetHost>;
  startRunner(options?: { workers?: number; env?: Record<string, string> }): Promise<RunnerProcess>;
  /** Kills every process, drops the database, removes the Redis keys and the folders. */
  close(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export async function startFleet(options: { label: string; trustBundleJson: string; profile?: string; hostEnv?: Record<string, string>; redisUrl?: string }): Promise<Fleet> {
  const fleetRedisUrl = options.redisUrl ?? redisUrl;
  const database = await createTestDatabase(options.label);
  const redisPrefix = `test-fleet-${options.label}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const dir = tempDir(`alga-fleet-${options.label}-`);
  const profile = options.profile ?? 'all';
  // Every node shares one secrets folder, as an operator copies it (docs/scale-out.md).
  const secrets = ensureInfraSecrets(join(dir.path, 'secrets-origin'), { profile: profile as Profile });
  const hosts: FleetHost[] = [];
  const runners: RunnerProcess[] = [];
  let hostCount = 0;
  let runnerCount = 0;

  const fleet: Fleet = {
    database,
    redisPrefix,
    secrets,
    root: dir.path,
    hosts,
    runners,
    async startHost(hostOptions = {}) {
      const dataDir = join(dir.path, `host-${++hostCount}`);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      cpSync(secretsDir(join(dir.path, 'secrets-origin')), secretsDir(dataDir), { recursive: true });
      const started = await startHostProcess({
        dataDir,
        profile,
        env: {
          ALGA_DATABASE_URL: database.url,
          ALGA_REDIS_URL: fleetRedisUrl,
          ALGA_REDIS_PREFIX: redisPrefix,
          ALGA_RUNNER_DISCOVERY: 'redis',
          SIGNING_TRUST_BUNDLE: options.trustBundleJson,
          ...options.hostEnv,
          ...hostOptions.env,
        },
      });
      const host = Object.assign(started, { dataDir });
      hosts.push(host);
      return host;
    },
    async startRunner(runnerOptions = {}) {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const runnerDir = join(dir.path, `runner-${++runnerCount}`);
      const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-runner.js'), '--port', String(port), '--database', database.url, '--redis', fleetRedisUrl, '--advertise', url], {
        env: {
          ...process.env,
          RUNNER_SERVICE_TOKEN: secrets.runnerServiceToken,
          RUNNER_SECRET_KEY: secrets.runnerKeyPair.secretKey,
          RUNNER_DATA_DIR: runnerDir,
          RUNNER_REDIS_PREFIX: redisPrefix,
          RUNNER_WORKERS: String(runnerOptions.workers ?? 1),
          RUNNER_LOG_LEVEL: 'warn',
          SIGNING_TRUST_BUNDLE: options.trustBundleJson,
          ...runnerOptions.env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
      child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`alga-runner exited with ${child.exitCode}:\n${output}`);
        return output.includes('alga-runner listening on');
      }, 60_000, `runner ${url}`);
      const runner = { url, child, output: () => output };
      runners.push(runner);
      return runner;
    },
    async close() {
      for (const process of [...hosts.map((host) => host.child), ...runners.map((runner) => runner.child)]) {
        if (process.exitCode === null && process.signalCode === null) process.kill('SIGKILL');
      }
      await Promise.all([...hosts.map((host) => host.child), ...runners.map((runner) => runner.child)].map((child) => (child.exitCode !== null || child.signalCode !== null ? undefined : new Promise((resolve) => child.once('exit', resolve)))));
      const redis = new Redis(fleetRedisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      try {
        const keys = await redis.keys(`${redisPrefix}:*`);
        if (keys.length > 0) await redis.del(...keys);
      } catch {
        // A test's own Redis may be gone already: nothing of the fleet is left in it.
      } finally {
        redis.disconnect();
      }
      await database.drop();
      dir.remove();
    },
  };
  return fleet;
}

/** The setup token the newest node wrote (each node's start mints one; the store keeps the latest). */
export async function currentSetupToken(host: FleetHost): Promise<string> {
  const path = join(host.dataDir, 'setup-token');
  await waitFor(async () => existsSync(path) || host.child.exitCode !== null, 30_000, 'the setup token');
  return readFileSync(path, 'utf8').trim();
}
