import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { folderBundleBlobs } from '../../../lib/bundle/index.ts';
import { definePlugin, type HostContext } from '../../core/plugin.ts';
import { postgresBundleBlobs } from '../../core/postgres/bundle-blobs.ts';
import { sqlStoreOf } from '../../core/postgres/postgres-store.ts';
import { uiProxyAuthKey } from '../../core/runner/ui-proxy-key.ts';
import { bundleDirOf } from '../../core/start.ts';
import type { ExtensionsApi, ExtensionsSubModule } from './api.ts';
import { EndpointTable } from './gateway/endpoints.ts';
import { ExecutionLog } from './gateway/execution-log.ts';
import { fleetQuotas } from './gateway/fleet-quotas.ts';
import { createRunnerClient } from './gateway/runner-client.ts';
import { gatewayRoutes } from './gateway/routes.ts';
import { installActions } from './installs/install-actions.ts';
import { InstallStore } from './installs/install-store.ts';
import { InstallService } from './installs/installs.ts';
import { installRoutes } from './installs/routes.ts';
import { extensionsMigrations } from './migrations.ts';
import { checkRebuildsOnPublish, RebuildChecks } from './registry/rebuild-checks.ts';
import { RegistryStore } from './registry/registry-store.ts';
import { registryRoutes } from './registry/routes.ts';
import { prepareVersionsOnRunner } from './runner-prepare.ts';
import { tenantOf } from './tenant-of.ts';
import { trustBundleSource } from './trust.ts';
import { BundleVerifier } from './verify/bundle-verifier.ts';
import { hostRoutes } from './ui-proxy/host-routes.ts';
import { uiProxyRouteBase, uiProxyRoutes } from './ui-proxy/routes.ts';

export type { ExtensionsApi, ExtensionsSubModule };

/** Optional sub-modules owned by the UI engineer; registered when present. */
const subModules = ['./ui/index.ts', './debug/index.ts', './console/index.ts'];

/**
 * The extensions plugin: registry v2 (/api/registry), per-tenant installs (/api/installs),
 * the gateway (/api/ext/{extensionId}/...), host routes for extensions (/api/ui-proxy/...),
 * plus the ui/ and debug/ sub-modules.
 */
export default definePlugin({
  name: 'extensions',
  version: '2.0.0',
  requires: [],
  async register(host: HostContext) {
    host.store.migrate('extensions', extensionsMigrations);
    const blobDir = bundleDirOf(host.config.dataDir);
    const sqlStore = sqlStoreOf(host.store);
    const blobs = sqlStore ? postgresBundleBlobs(sqlStore, blobDir) : folderBundleBlobs(blobDir);
    const trust = trustBundleSource(host.config.trustBundle);
    const registry = new RegistryStore(host.store);
    const installs = new InstallStore(host.store);
    const executions = new ExecutionLog(host.store, { limits: host.config.executionLog, metrics: host.metrics, log: host.log.child({ area: 'execution-log' }) });
    const verifier = new BundleVerifier();
    const rebuildChecks = new RebuildChecks(host.store);
    if (host.config.rebuildCheck) {
      checkRebuildsOnPublish({ events: host.events, registry, blobs, checks: rebuildChecks, log: host.log.child({ area: 'rebuild-check' }), onClose: (hook) => host.lifecycle.onClose(hook) });
    }
    const installService = new InstallService({
      installs, registry, blobs, trust, ceilings: host.config.ceilings,
      // Read when secrets are sealed: `alga-host rotate-key runner-envelope` changes it while the host runs.
      get runnerPublicKey() {
        return host.runner.publicKey;
      },
      verifyStored: (bytes, signatureFile, trustBundle, expectedHash) => verifier.verifyStored(bytes, signatureFile, trustBundle, expectedHash),
    });
    const actions = installActions({ service: installService, installs, audit: host.audit, events: host.events, runner: host.runner });
    const api: ExtensionsApi = { registry, rebuildChecks, installs, installService, installActions: actions, executions, blobDir, blobs, trust, tenantOf: (request) => tenantOf(request, host.auth) };
    host.plugins.expose(api);
    prepareVersionsOnRunner({ runner: host.runner, installs, events: host.events, lifecycle: host.lifecycle, log: host.log });

    const runnerClient = createRunnerClient();
    host.lifecycle.onClose(async () => {
      runnerClient.close();
      executions.close();
      await verifier.close();
    });

    await host.routes.register(registryRoutes, { prefix: '/api/registry', registry, rebuildChecks, blobs, trust, auth: host.auth, audit: host.audit, maxBundleBytes: host.config.registryMaxBundleBytes, verifier, events: host.events });
    await host.routes.register(installRoutes, { prefix: '/api/installs', installs, service: installService, actions, executions, auth: host.auth });
    await host.routes.register(gatewayRoutes, {
      prefix: '/api/ext',
      auth: host.auth, installs, registry, endpoints: new EndpointTable(), quotas: fleetQuotas(host), executions, runner: host.runner, runnerClient, config: host.config, metrics: host.metrics, uiProxyRouteBase,
    });
    await host.routes.register(uiProxyRoutes, {
      prefix: uiProxyRouteBase,
      installs, routes: hostRoutes({ auth: host.auth, registry }), authKey: uiProxyAuthKey(host.secrets.runnerServiceToken, host.config.env), metrics: host.metrics,
    });

    for (const relative of subModules) {
      const url = new URL(relative, import.meta.url);
      if (!existsSync(fileURLToPath(url))) continue;
      const { default: subModule } = (await import(url.href)) as { default?: ExtensionsSubModule };
      if (typeof subModule !== 'function') {
        host.log.warn({ module: relative }, 'extensions sub-module has no default export (host, extensions) => void; skipped');
        continue;
      }
      await host.routes.register(async (routes) => subModule({ ...host, routes }, api));
    }
  },
});
