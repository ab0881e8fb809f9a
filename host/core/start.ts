import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { AlgaError } from '../../lib/errors/index.ts';
import { resolveHostConfig, type HostConfig, type HostConfigInput } from './config.ts';
import { lockDataFolder } from './data-lock.ts';
import { ensureInfraSecrets, type InfraSecrets } from './infra-secrets.ts';
import type { HostPlugin } from './plugin.ts';
import { joinFleet } from './fleet-secrets.ts';
import { childRunner, writeRunnerSecretKeys } from './runner/child.ts';
import { watchInfraSecrets } from './secrets/live-reload.ts';
import { externalRunner, type ManagedRunner } from './runner/external.ts';
import { fleetRunners } from './runner/fleet-runners.ts';
import { uiProxyAuthKey } from './runner/ui-proxy-key.ts';
import { buildHostApp, type HostApp } from './server.ts';
import type { HostStore } from './store.ts';
import { openHostStore } from './store-engine.ts';
import { loadProfilePlugins } from '../plugins/index.ts';

export interface StartHostOptions extends HostConfigInput {
  /** Plugins to load instead of the profile's (tests). */
  plugins?: readonly HostPlugin[];
  /** Where plugin announcements (the claim token) go; stdout by default. */
  announce?: (line: string) => void;
  logLevel?: string;
}

export interface RunningHost {
  url: string;
  config: HostConfig;
  secrets: InfraSecrets;
  store: HostStore;
  runner: ManagedRunner;
  host: HostApp;
  /** Stops the host, then the runner, then closes the store. Safe to call twice. */
  close(): Promise<void>;
}

/** Bundles live content-addressed under `<data>/bundles` (shared with the local runner's cache). */
export function bundleDirOf(dataDir: string): string {
  return join(dataDir, 'bundles');
}

/** The data folder exists (created if needed) or the start stops with a sentence naming it. */
function prepareDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new AlgaError('E_HOST_CONFIG_INVALID', `The data folder ${dataDir} cannot be created (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); choose another --data.`, { cause: error });
  }
}

/** How this machine reaches an address the host listens on. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The one provisioning contract, in order: infra secrets → store → plugins → listen → runner
 * (told the host's URL, which is known only now with port 0) → onListening (the setup plugin
 * surfaces the claim token there). Until the runner answers, /readyz is 503 and the gateway 502.
 * Every way the host starts goes through here.
 */
export async function startHost(options: StartHostOptions = {}): Promise<RunningHost> {
  const config = resolveHostConfig(options);
  prepareDataDir(config.dataDir);
  const lock = lockDataFolder(config.dataDir);
  let secrets: InfraSecrets;
  let store: HostStore;
  try {
    secrets = ensureInfraSecrets(config.dataDir, { profile: config.profile });
    store = openHostStore(config);
  } catch (error) {
    lock.release();
    throw error;
  }
  let runner: ManagedRunner | undefined;
  let host: HostApp | undefined;
  let secretsWatch: ReturnType<typeof watchInfraSecrets> | undefined;
  try {
    if (config.fleet.databaseUrl) joinFleet(store, secrets);
    let hostUrl: string | undefined;
    const bootLog = pino({ level: options.logLevel ?? config.env.ALGA_LOG_LEVEL ?? 'info' });
    runner = fleetRunners(config, secrets, bootLog) ?? (config.runnerBaseUrl
      ? externalRunner({ baseUrl: config.runnerBaseUrl, publicBaseUrl: config.runnerPublicBase, serviceToken: secrets.runnerServiceToken, publicKey: () => secrets.runnerKeyPair.publicKey })
      : childRunner({
          dataDir: config.dataDir,
          serviceToken: secrets.runnerServiceToken,
          keyPair: secrets.runnerKeyPair,
          secretKeys: () => secrets.runnerKeys.entries.map((entry) => entry.key.secretKey),
          bundleDir: bundleDirOf(config.dataDir),
          trustBundle: config.trustBundle,
          publicBaseUrl: config.runnerPublicBase,
          hostUrl: () => hostUrl,
          env: { ...config.env, UI_PROXY_AUTH_KEY: uiProxyAuthKey(secrets.runnerServiceToken, config.env), ...(config.fleet.databaseUrl ? { RUNNER_DATABASE_URL: config.fleet.databaseUrl } : {}) },
          log: bootLog,
          onRestart: () => host?.metrics.runnerRestarts.inc(),
          onSpare: (waiting) => host?.metrics.runnerSpareReady.set(waiting ? 1 : 0),
        }));
    const plugins = options.plugins ?? (await loadProfilePlugins(config.profile, (line) => bootLog.warn(line)));
    host = await buildHostApp({ config, secrets, store, runner, plugins, announce: options.announce, logLevel: options.logLevel });
    const url = await host.app.listen({ port: config.port, host: config.host }).catch((error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'is already in use' : error.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `failed (${error.code ?? error.message})`;
      throw new AlgaError('E_HOST_LISTEN_FAILED', `${config.host}:${config.port} ${reason}.`, { cause: error });
    });
    hostUrl = `http://${loopbackFor(config.host)}:${(host.app.server.address() as AddressInfo).port}`;
    await runner.start();
    // `alga-host rotate-key` rewrites key files while the host runs: follow them (secrets/live-reload.ts).
    const embedded = !config.runnerBaseUrl;
    secretsWatch = watchInfraSecrets({
      dataDir: config.dataDir,
      profile: config.profile,
      secrets,
      log: host.app.log,
      onReload: (live) => {
        if (embedded) writeRunnerSecretKeys(config.dataDir, live.runnerKeys.entries.map((entry) => entry.key.secretKey));
      },
    });
    await host.listening(url);
    let closing: Promise<void> | undefined;
    const started = host;
    const startedRunner = runner;
    return {
      url,
      config,
      secrets,
      store,
      runner,
      host,
      close() {
        closing ??= (async () => {
          secretsWatch?.close();
          try {
            await started.close();
            await startedRunner.stop();
            await store.close();
          } finally {
            lock.release();
          }
        })();
        return closing;
      },
    };
  } catch (error) {
    secretsWatch?.close();
    await host?.close().catch(() => undefined);
    await runner?.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    lock.release();
    throw error;
  }
}
