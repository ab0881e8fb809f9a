import type { HostAuth } from '../../../core/auth/index.ts';
import type { InstallRecord } from '../installs/install-store.ts';
import type { RegistryStore } from '../registry/registry-store.ts';

/** One `alga.ui_proxy` call, after the key and the install have been checked. */
export interface UiProxyCall {
  install: InstallRecord;
  /** The guest's payload bytes (unused by the routes below; kept for routes that take input). */
  payload: Buffer;
}

export type HostRoute = (call: UiProxyCall) => unknown;

/**
 * The host routes an extension reaches with `uiProxy.call(route, payload)`; each answers JSON
 * about the calling install only. Documented in docs/host.md ("Host routes for extensions").
 */
export function hostRoutes(deps: { auth: HostAuth; registry: RegistryStore }): ReadonlyMap<string, HostRoute> {
  return new Map<string, HostRoute>([
    ['install/info', ({ install }) => ({
      installId: install.id,
      extensionId: install.extensionId,
      version: install.version,
      contentHash: install.contentHash,
      enabled: install.enabled,
      grants: install.grants,
      egress: install.egress,
      limits: install.limits,
      secretNames: install.secretNames,
      installedAt: install.createdAt,
      updatedAt: install.updatedAt,
    })],
    ['tenant/info', ({ install }) => {
      const tenant = deps.auth.getTenant(install.tenantId);
      return { id: install.tenantId, name: tenant?.name ?? null };
    }],
    ['extension/versions', ({ install }) => {
      const extension = deps.registry.getExtension(install.extensionId);
      return { installed: install.version, latest: extension?.latestVersion ?? install.version, versions: extension?.versions ?? [install.version] };
    }],
  ]);
}
