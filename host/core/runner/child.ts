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
  /** Extra environment for the runner (RUNNER_*, UI_PROXY_*, …). RUNNER_WARM_SPARE=0 turns the warm spare off. */
  env?: Record<string, string | undefined>;
  log: FastifyBaseLogger;
  onRestart?: () => void;
  /** Told whenever a warm spare starts or stops waiting to take over. */
  onSpare?: (waiting: boolean) => void;
  /** The runner entry point; defaults to bin/alga-runner.js. */
  entry?: string;
}

const passThroughPrefixes = ['RUNNER_', 'UI_PROXY_'];
const passThroughNames = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_ENV', 'NODE_OPTIONS', 'NODE_EXTRA_CA_CERTS'];
const minBackoffMs = 200;
const maxBackoffMs = 10_000;
const stableAfterMs = 30_000;
/**
 * A runner that has not answered /healthz for this long is killed and restarted. Long enough that
 * a cold compile on a loaded machine (which can hold the runner's event loop for seconds) is not
 * mistaken for a hang.
 */
const unresponsiveKillMs = 20_000;
/**
 * A spare is started this long after the runner came up (or after the last spare took over):
 * starting one costs a second or two of CPU, which should not compete with a fresh runner's first calls.
 */
const spareDelayMs = 15_000;
/** A spare waits until the runner has had no call for this long (or until `spareMaxWaitMs` has passed). */
const spareQuietMs = 3_000;
const spareMaxWaitMs = 120_000;

type RunnerMessage = { type?: string };

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

/**
 * Runs `node bin/alga-runner.js` as a child on a free loopback port, watches its health, and
 * replaces it whenever it exits. Its pid is kept in `<data>/run/runner.pid`.
 *
 * A warm spare (on unless RUNNER_WARM_SPARE=0) is a second runner process started 15 s after the
 * runner, at a moment without calls (3 s quiet, or 2 minutes at most), with its code loaded and
 * workers up, that waits (RUNNER_STANDBY) without binding the port. When the runner exits, the
 * spare is told to take over the port at once and says when it listens; a new spare follows 15 s
 * later. Without a spare, the first replacement starts at once and repeated exits back off
 * (200 ms doubling to 10 s; the count starts again after 30 s of running).
 */
export function childRunner(options: ChildRunnerOptions): ManagedRunner {
  const runDir = join(options.dataDir, 'run');
  const pidFile = join(runDir, 'runner.pid');
  const secretKeyFile = runnerSecretKeyFile(options.dataDir);
  const entry = options.entry ?? fileURLToPath(new URL('../../../bin/alga-runner.js', import.meta.url));
  const warmSpare = (options.env ?? process.env).RUNNER_WARM_SPARE !== '0';
  let port = 0;
  let child: ChildProcess | undefined;
  let spare: { process: ChildProcess; waiting: boolean } | undefined;
  const health = new RunnerHealth();
  let stopping = false;
  let attempts = 0;
  let spareAttempts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let spareTimer: NodeJS.Timeout | undefined;
  let healthTimer: NodeJS.Timeout | undefined;
  let startedAt = 0;
  /** When the gateway last asked where the runner is (about once per call). */
  let lastCallAt = 0;
  const url = () => `http://127.0.0.1:${port}`;
  const backoff = (count: number) => (count === 0 ? 0 : Math.min(minBackoffMs * 2 ** (count - 1), maxBackoffMs));

  function environment(standby: boolean): NodeJS.ProcessEnv {
    const source = options.env ?? process.env;
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || name === 'RUNNER_BASE_URL' || name === 'RUNNER_STANDBY') continue;
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
    if (standby) env.RUNNER_STANDBY = '1';
    if (options.trustBundle) env.SIGNING_TRUST_BUNDLE = options.trustBundle;
    const hostUrl = options.hostUrl?.();
    if (hostUrl) {
      env.RUNNER_REGISTRY_URL ??= hostUrl;
      env.UI_PROXY_BASE_URL ??= hostUrl;
    }
    return env;
  }

  let checking: Promise<void> | undefined;
  /** One probe at a time: a slow runner is not sent a second probe while the first waits. */
  function check(): Promise<void> {
    if (!child) return Promise.resolve();
    checking ??= health.check(url()).finally(() => (checking = undefined));
    return checking;
  }

  /** The periodic check: also ends a runner that is up but has stopped answering (the exit handler replaces it). */
  async function watch(): Promise<void> {
    const watched = child;
    await check();
    const silentMs = performance.now() - health.lastAnsweredAt;
    if (watched && watched === child && health.answered && !health.ready && silentMs >= unresponsiveKillMs && watched.exitCode === null) {
      options.log.warn({ pid: watched.pid, silentMs: Math.round(silentMs) }, 'runner stopped answering /healthz; killing it so it restarts');
      watched.kill('SIGKILL');
    }
  }

  /** The pid file names the runner that serves; a disk that refuses it (full) costs the file, not the runner. */
  function recordPid(pid: number | undefined): void {
    try {
      writeFileSync(pidFile, `${pid ?? ''}\n`, { mode: 0o600 });
    } catch (error) {
      options.log.warn({ err: error, pidFile }, 'the runner pid file could not be written');
    }
  }

  function launch(standby: boolean): ChildProcess {
    // The IPC channel is how the runner knows the host is gone, however it went (runner/main.ts).
    const spawned = spawn(process.execPath, [entry], { env: environment(standby), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    spawned.on('message', (message: RunnerMessage) => {
      if (message?.type === 'listening' && spawned === child) health.reportListening();
      if (message?.type === 'standby' && spawned === spare?.process) {
        spare.waiting = true;
        options.onSpare?.(true);
      }
    });
    let ended = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (ended) return;
      ended = true;
      onExit(spawned, code, signal);
    };
    spawned.on('error', (error) => {
      options.log.error({ err: error }, 'runner could not be spawned');
      if (spawned.pid === undefined) finish(null, null); // never started: no exit event follows
    });
    spawned.on('exit', finish);
    return spawned;
  }

  function startServing(): void {
    startedAt = Date.now();
    health.reset();
    const spawned = launch(false);
    child = spawned;
    recordPid(spawned.pid);
    options.log.info({ pid: spawned.pid, port }, 'runner started');
  }

  /** The spare takes over the port; true when there was one waiting. */
  function promoteSpare(): boolean {
    if (!spare?.waiting || spare.process.exitCode !== null || !spare.process.connected) return false;
    try {
      spare.process.send({ type: 'activate' });
    } catch {
      return false; // its channel closed just now; it is exiting, and a fresh runner starts instead
    }
    const promoted = spare.process;
    spare = undefined;
    options.onSpare?.(false);
    startedAt = Date.now();
    health.reset();
    child = promoted;
    recordPid(promoted.pid);
    options.log.info({ pid: promoted.pid, port }, 'warm spare runner took over');
    void pollUntilReady(15_000);
    // Quick successive exits space the spares out like restarts, so a crash loop stays cheap.
    scheduleSpare(Math.max(spareDelayMs, backoff(attempts)));
    return true;
  }

  /** Starts a spare after `delayMs`, at a quiet moment: its start costs CPU a busy runner's calls would miss. */
  function scheduleSpare(delayMs: number, waitedMs = 0): void {
    if (!warmSpare || stopping || spare || spareTimer) return;
    spareTimer = setTimeout(() => {
      spareTimer = undefined;
      if (stopping || spare) return;
      const busy = performance.now() - lastCallAt < spareQuietMs;
      if (busy && waitedMs + delayMs < spareMaxWaitMs) return scheduleSpare(spareQuietMs, waitedMs + delayMs);
      spare = { process: launch(true), waiting: false };
    }, delayMs);
    spareTimer.unref();
  }

  function onExit(exited: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (exited === spare?.process) {
      spare = undefined;
      options.onSpare?.(false);
      if (stopping) return;
      options.log.warn({ code, signal }, 'warm spare runner exited; starting another');
      spareAttempts++;
      scheduleSpare(Math.max(spareDelayMs, backoff(spareAttempts)));
      return;
    }
    if (exited !== child) return;
    child = undefined;
    health.ready = false;
    if (stopping) return;
    if (Date.now() - startedAt > stableAfterMs) attempts = 0;
    options.onRestart?.();
    if (promoteSpare()) {
      attempts++;
      options.log.warn({ code, signal }, 'runner exited; its warm spare serves now');
      return;
    }
    const delay = backoff(attempts);
    attempts++;
    options.log.warn({ code, signal, restartInMs: delay }, 'runner exited; restarting');
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      if (!promoteSpare()) {
        startServing();
        void pollUntilReady(15_000);
      }
    }, delay);
  }

  async function pollUntilReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    const polled = child;
    while (!stopping && child && child === polled && Date.now() < deadline) {
      if (!health.ready) await check();
      if (health.ready) return true;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return health.ready;
  }

  async function end(runner: ChildProcess | undefined): Promise<void> {
    if (!runner || runner.exitCode !== null || runner.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => runner.once('exit', () => resolve()));
    runner.kill('SIGTERM');
    const forced = setTimeout(() => runner.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(forced);
  }

  return {
    serviceToken: options.serviceToken,
    get publicKey() {
      return options.keyPair.publicKey;
    },
    baseUrl: () => {
      lastCallAt = performance.now();
      return child ? url() : undefined;
    },
    checkUrl: () => (child ? url() : undefined),
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
      startServing();
      if (!(await pollUntilReady(60_000))) options.log.warn('runner is not answering /healthz yet; the gateway answers 502 until it does');
      healthTimer = setInterval(() => void watch(), 1000);
      healthTimer.unref();
      scheduleSpare(spareDelayMs);
    },
    async stop() {
      stopping = true;
      for (const timer of [restartTimer, spareTimer]) if (timer) clearTimeout(timer);
      if (healthTimer) clearInterval(healthTimer);
      await Promise.all([end(child), end(spare?.process)]);
      rmSync(pidFile, { force: true });
      // The key file is the runner's copy of secrets/ keys: none is left once no runner needs it.
      rmSync(secretKeyFile, { force: true });
      health.ready = false;
    },
  };
}
