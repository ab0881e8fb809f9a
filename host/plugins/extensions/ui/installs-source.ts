import type { ExtensionsApi } from '../api.ts';
import type { InstalledUi, InstalledUiSource } from './installed-ui.ts';

/** A tenant's enabled installs with the manifest of the installed version, from the extensions plugin's stores. */
export function installedUiSource(extensions: Pick<ExtensionsApi, 'installs' | 'registry'>): InstalledUiSource {
  const withManifest = (install: { id: string; extensionId: string; version: string; contentHash: string; enabled: boolean }): InstalledUi | undefined => {
    if (!install.enabled) return undefined;
    const version = extensions.registry.getVersion(install.extensionId, install.version);
    if (!version) return undefined;
    return { installId: install.id, extensionId: install.extensionId, version: install.version, contentHash: install.contentHash, manifest: version.manifest };
  };
  return {
    list: (tenantId) => extensions.installs.listForTenant(tenantId).flatMap((install) => withManifest(install) ?? []),
    get: (tenantId, extensionId) => {
      const install = extensions.installs.get(tenantId, extensionId);
      return install ? withManifest(install) : undefined;
    },
  };
}
