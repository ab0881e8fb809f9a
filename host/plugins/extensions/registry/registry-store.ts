import semver from 'semver';
import type { Manifest } from '../../../../lib/bundle/index.ts';
import type { BundleSigner } from '../../../../lib/signing/index.ts';
import type { HostStore } from '../../../core/store.ts';
import { AlgaError } from '../../../../lib/errors/index.ts';

export interface ExtensionRecord {
  id: string;
  publisher: string;
  displayName?: string;
  description?: string;
  latestVersion: string;
  versions: string[];
  createdAt: string;
  updatedAt: string;
}

export interface VersionRecord {
  extensionId: string;
  version: string;
  contentHash: string;
  manifest: Manifest;
  signer: BundleSigner;
  size: number;
  publishedAt: string;
  publishedBy: string;
}

export interface BundleRecord {
  extensionId: string;
  version: string;
  size: number;
}

/** An extension id belongs to the publisher of its first version; nobody else may add versions to it. */
export function checkOwner(owner: string | undefined, manifest: { name: string; publisher: string }): void {
  if (owner !== undefined && owner !== manifest.publisher) {
    throw new AlgaError('E_REGISTRY_EXTENSION_OWNED', `${manifest.name} belongs to "${owner}"; this bundle is by "${manifest.publisher}".`);
  }
}

/** Registry metadata: extensions, their versions, and bundles by content hash. Blobs live on disk. */
export class RegistryStore {
  readonly extensions;
  readonly versions;
  readonly bundles;

  constructor(private readonly store: HostStore) {
    this.extensions = store.db<ExtensionRecord, string>('ext.extensions');
    this.versions = store.db<VersionRecord, [string, string]>('ext.versions');
    this.bundles = store.db<BundleRecord, string>('ext.bundles');
  }

  getExtension(id: string): ExtensionRecord | undefined {
    return this.extensions.get(id);
  }

  listExtensions(): ExtensionRecord[] {
    return [...this.extensions.getRange({})].map(({ value }) => value);
  }

  getVersion(id: string, version: string): VersionRecord | undefined {
    return this.versions.get([id, version]);
  }

  /** Every version of an extension, newest (semver) first. */
  listVersions(id: string): VersionRecord[] {
    return [...this.versions.getRange({ start: [id], end: [id, '\uffff'] })].map(({ value }) => value).sort((a, b) => semver.rcompare(a.version, b.version));
  }

  getBundle(hash: string): BundleRecord | undefined {
    return this.bundles.get(hash);
  }

  /** Adds a version in one transaction. Returns false when that exact version and hash already exist. Caller checks conflicts first; this re-checks. */
  addVersion(record: VersionRecord, onConflict: (existing: VersionRecord) => never): boolean {
    return this.store.transaction(() => {
      const existing = this.versions.get([record.extensionId, record.version]);
      if (existing) {
        if (existing.contentHash === record.contentHash) return false;
        onConflict(existing);
      }
      this.versions.putSync([record.extensionId, record.version], record);
      this.bundles.putSync(record.contentHash, { extensionId: record.extensionId, version: record.version, size: record.size });
      const current = this.extensions.get(record.extensionId);
      checkOwner(current?.publisher, record.manifest);
      const versions = [...(current?.versions ?? []), record.version].sort(semver.rcompare);
      this.extensions.putSync(record.extensionId, {
        id: record.extensionId,
        publisher: record.manifest.publisher,
        ...(record.manifest.displayName ? { displayName: record.manifest.displayName } : {}),
        ...(record.manifest.description ? { description: record.manifest.description } : {}),
        // A prerelease (`1.1.0-dev.20250101120000`, `alga-ext pack --prerelease`) is latest only while there is no release.
        latestVersion: versions.find((version) => semver.prerelease(version) === null) ?? versions[0],
        versions,
        createdAt: current?.createdAt ?? record.publishedAt,
        updatedAt: record.publishedAt,
      });
      return true;
    });
  }
}
