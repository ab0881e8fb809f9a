import semver from 'semver';
import type { TrustBundle } from '../../../../lib/signing/index.ts';
import type { CatalogEntryView, InstallView, VersionView } from '../../../web/console/view-models.ts';
import { displayName } from '../../../web/console/view-models.ts';
import type { InstallRecord } from '../installs/install-store.ts';
import type { ExtensionRecord, RegistryStore, VersionRecord } from '../registry/registry-store.ts';
import { signatureOf } from './signature.ts';

/** Registry and install records as the console's views take them (never a secret value). */
export function versionView(record: VersionRecord, trust: () => TrustBundle): VersionView {
  return {
    extensionId: record.extensionId,
    version: record.version,
    contentHash: record.contentHash,
    publishedAt: record.publishedAt,
    size: record.size,
    manifest: record.manifest,
    signature: signatureOf(record.signer, trust),
    reproducibility: record.reproducibility ?? 'none',
  };
}

export function catalogEntry(extension: ExtensionRecord, registry: RegistryStore, trust: () => TrustBundle, install: InstallRecord | undefined): CatalogEntryView | undefined {
  const versions = registry.listVersions(extension.id).map((record) => versionView(record, trust));
  const latest = versions.find((version) => version.version === extension.latestVersion) ?? versions[0];
  if (!latest) return undefined;
  return {
    id: extension.id,
    name: displayName(latest.manifest),
    publisher: extension.publisher,
    ...(latest.manifest.description ? { description: latest.manifest.description } : {}),
    latest,
    versions,
    ...(install ? { installed: { version: install.version, enabled: install.enabled } } : {}),
  };
}

export function installView(install: InstallRecord, registry: RegistryStore, trust: () => TrustBundle): InstallView | undefined {
  const installed = registry.getVersion(install.extensionId, install.version);
  if (!installed) return undefined;
  const newer = registry
    .listVersions(install.extensionId)
    .filter((record) => semver.gt(record.version, install.version))
    .map((record) => versionView(record, trust));
  return {
    extensionId: install.extensionId,
    name: displayName(installed.manifest),
    version: install.version,
    contentHash: install.contentHash,
    enabled: install.enabled,
    config: install.config,
    grants: install.grants,
    egress: install.egress,
    limits: install.limits,
    secretNames: install.secretNames,
    createdAt: install.createdAt,
    updatedAt: install.updatedAt,
    manifest: installed.manifest,
    newer,
    hasUi: Boolean(installed.manifest.ui?.iframe?.entry),
  };
}
