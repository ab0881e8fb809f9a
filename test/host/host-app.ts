import { ensureInfraSecrets, type InfraSecrets } from '../../host/core/infra-secrets.ts';
import { resolveHostConfig } from '../../host/core/config.ts';
import type { HostPlugin } from '../../host/core/plugin.ts';
import { externalRunner, type ManagedRunner } from '../../host/core/runner/external.ts';
import { buildHostApp, type HostApp } from '../../host/core/server.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import extensionsPlugin from '../../host/plugins/extensions/index.ts';
import { tempDir } from './temp-dir.ts';

export interface InProcessHost {
  host: HostApp;
  store: HostStore;
  runner: ManagedRunner;
  dataDir: string;
  /** A token with the `admin` scope. */
  adminToken: string;
  secrets: InfraSecrets;
  close(): Promise<void>;
}

/**
 * The host app in this process on a temp data folder (real LMDB, real secrets), answering via
 * `host.app.inject`. `runnerUrl` points the gateway at a runner; without one, nothing listens there.
 * `dataDir` reopens an earlier host's folder instead (it is then kept on close). `wrapStore` puts
 * something between the host and its store (a fault injector).
 */
export async function inProcessHost(options: { env?: Record<string, string>; runnerUrl?: string; plugins?: HostPlugin[]; dataDir?: string; wrapStore?: (store: HostStore) => HostStore } = {}): Promise<InProcessHost> {
  const dir = options.dataDir ? { path: options.dataDir, remove: () => {} } : tempDir();
  const config = resolveHostConfig({ dataDir: dir.path, port: 0, profile: 'appliance', env: { ...options.env, RUNNER_BASE_URL: options.runnerUrl ?? 'http://127.0.0.1:9' } });
  const secrets = ensureInfraSecrets(config.dataDir, { profile: config.profile });
  const store = (options.wrapStore ?? ((opened) => opened))(openStore(config.dataDir));
  const runner = externalRunner({ baseUrl: config.runnerBaseUrl!, serviceToken: secrets.runnerServiceToken, publicKey: secrets.runnerKeyPair.publicKey, probeIntervalMs: 200 });
  await runner.start();
  const host = await buildHostApp({ config, secrets, store, runner, plugins: options.plugins ?? [extensionsPlugin], announce: () => {}, logLevel: 'silent' });
  const { token } = host.auth.createToken({ kind: 'service', label: 'test admin', scopes: ['admin'] });
  return {
    host,
    store,
    runner,
    dataDir: dir.path,
    adminToken: token,
    secrets,
    async close() {
      await host.close();
      await runner.stop();
      await store.close();
      dir.remove();
    },
  };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
