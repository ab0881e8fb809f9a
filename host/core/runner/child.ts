import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import type { ManagedRunner } from './external.ts';
import { freePort } from './free-port.ts';
import { RunnerHealth } from './health.ts';

export interface ChildRunnerOptions {
  dataDir: string;
  serviceToken: string;
  /** base64 nacl box key pair of the runner (the active one; read at each use, a key rotation changes it). */
  keyPair: { publicKey: string; secretKey: string };
  /** Every secret key the runner may need (the active one first): more than one during a key rotation. */
  secretKeys?: () => string[];
  /** Folder of verified bundles (content-addressed), shared with the host's registry blob store. */
  bundleDir: string;
  trustBundle?: string;
  publicBaseUrl?: string;
  /**
   * The host's own URL (registry fetches, ui-proxy calls). Read at every spawn, so the host can
   * start the runner once it listens and knows its port (`--port 0`).
   */
  hostUrl?: () => string | undefined;
  /** Extra environment for the runner (RUNNER_*, UI_PROXY_*, …). */
  env?: Record<string, string | undefined>;
  log: FastifyBaseLogger;
  onRestart?: () => void;
  /** The runner entry point; defaults to bin/alga-runner.js. */
  entry?: string;
}

const passThroughPrefixes = ['RUNNER_', 'UI_PROXY_'];
const passThroughNames = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];
const minBackoffMs = 200;
const maxBackoffMs = 10_000;
const stableAfterMs = 30_000;
/** A runner that stops answering /healthz for this many checks in a row (1 s apart) is killed and restarted. */
const unhealthyChecksBeforeKill = 10;

/**
 * Runs `node bin/alga-runner.js` as a child on a free loopback port, watches its health, and
 * restarts it with exponential backoff whenever it exits. Its pid is kept in `<data>/run/runner.pid`.
 */
/** The file the local runner reads its secret keys from (RUNNER_SECRET_KEY_FILE), one per line. */
export function runnerSecretKeyFile(dataDir: string): string {
  return join(dataDir, 'run', 'runner-secret-key');
}

/** (Re)writes the local runner's key file; the runner re-reads it when an envelope needs a key it lacks. */
export function writeRunnerSecretKeys(dataDir: string, secretKeys: readonly string[]): void {
  mkdirSync(join(dataDir, 'run'), { recursive: true, mode: 0o700 });
  const file = runnerSecretKeyFile(dataDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${secretKeys.join('\n')}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export function childRunner(options: ChildRunnerOptions): ManagedRunner {
  const runDir = join(options.dataDir, 'run');
  const pidFile = join(runDir, 'runner.pid');
  const secretKeyFile = runnerSecretKeyFile(options.dataDir);
  const entry = options.entry ?? fileURLToPath(new URL('../../../bin/alga-runner.js', import.meta.url));
  let port = 0;
  let child: ChildProcess | undefined;
  const health = new RunnerHealth();
  let stopping = false;
  let attempts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  const url = () => `http://127.0.0.1:${port}`;

  function environment(): NodeJS.ProcessEnv {
    const source = options.env ?? process.env;
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || name === 'RUNNER_BASE_URL') continue;
      if (passThroughNames.includes(name) || passThroughPrefixes.some((prefix) => name.startsWith(prefix))) env[name] = value;
    }
    Object.assign(env, {
      RUNNER_HOST: '127.0.0.1',
      RUNNER_PORT: String(port),
      RUNNER_SERVICE_TOKEN: options.serviceToken,
      RUNNER_SECRET_KEY_FILE: secretKeyFile,
      RUNNER_DATA_DIR: join(options.dataDir, 'runner'),
      RUNNER_BUNDLE_DIR: options.bundleDir,
      RUNNER_PUBLIC_BASE: options.publicBaseUrl ?? source.RUNNER_PUBLIC_BASE ?? url(),
    });
    if (options.trustBundle) env.SIGNING_TRUST_BUNDLE = options.trustBundle;
    const hostUrl = options.hostUrl?.();
    if (hostUrl) {
      env.RUNNER_REGISTRY_URL ??= hostUrl;
      env.UI_PROXY_BASE_URL ??= hostUrl;
    }
    return env;
  }

  async function check(): Promise<void> {
    if (child) await health.check(url());
  }

  /** The periodic check: also ends a runner that is up but has stopped answering (the exit handler restarts it). */
  async function watch(): Promise<void> {
    const watched = child;
    await check();
    if (watched && watched === child && health.answered && health.failedChecks >= unhealthyChecksBeforeKill && watched.exitCode === null) {
      options.log.warn({ pid: watched.pid, failedChecks: health.failedChecks }, 'runner stopped answering /healthz; killing it so it restarts');
      health.failedChecks = 0;
      watched.kill('SIGKILL');
    }
  }

  function spawnChild(): void {
    startedAt = Date.now();
    health.reset();
    // The IPC channel is how the runner knows the host is gone, however it went (runner/main.ts).
    const spawned = spawn(process.execPath, [entry], { env: environment(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child = spawned;
    writeFileSync(pidFile, `${spawned.pid ?? ''}\n`, { mode: 0o600 });
    options.log.info({ pid: spawned.pid, port }, 'runner started');
    spawned.on('error', (error) => options.log.error({ err: error }, 'runner could not be spawned'));
    spawned.on('exit', (code, signal) => {
      if (child === spawned) child = undefined;
      health.ready = false;
      if (stopping) return;
      if (Date.now() - startedAt > stableAfterMs) attempts = 0;
      const delay = Math.min(minBackoffMs * 2 ** attempts, maxBackoffMs);
      attempts++;
      options.log.warn({ code, signal, restartInMs: delay }, 'runner exited; restarting');
      restartTimer = setTimeout(() => {
        restartTimer = undefined;
        if (stopping) return;
        options.onRestart?.();
        spawnChild();
        void pollUntilReady(15_000);
      }, delay);
    });
  }

  async function pollUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!stopping && child && Date.now() < deadline) {
      await check();
      if (health.ready) return true;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return health.ready;
  }

  return {
    serviceToken: options.serviceToken,
    get publicKey() {
      return options.keyPair.publicKey;
    },
    baseUrl: () => (child ? url() : undefined),
    publicBaseUrl: () => options.publicBaseUrl ?? (port ? url() : undefined),
    isReady: () => health.ready,
    isAvailable: () => child !== undefined && health.isAvailable(),
    reportUnreachable() {
      health.reportUnreachable();
      void check();
    },
    async start() {
      writeRunnerSecretKeys(options.dataDir, options.secretKeys?.() ?? [options.keyPair.secretKey]);
      port = await freePort();
      spawnChild();
      if (!(await pollUntilReady(60_000))) options.log.warn('runner is not answering /healthz yet; the gateway answers 502 until it does');
      healthTimer = setInterval(() => void watch(), 1000);
      healthTimer.unref();
    },
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      if (healthTimer) clearInterval(healthTimer);
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
        running.kill('SIGTERM');
        const forced = setTimeout(() => running.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(forced);
      }
      rmSync(pidFile, { force: true });
      health.ready = false;
    },
  };
}
