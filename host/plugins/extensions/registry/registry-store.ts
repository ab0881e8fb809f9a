import semver from 'semver';
import type { Manifest, Reproducibility } from '../../../../lib/bundle/index.ts';
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
  /** What the signed bundle lets anyone check about its build (absent on versions published before it was recorded). */
  reproducibility?: Reproducibility;
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

/** How many published versions `getVersion` keeps in memory. */
const maxRememberedVersions = 2_000;

/** Registry metadata: extensions, their versions, and bundles by content hash. Blobs live on disk. */
export class RegistryStore {
  readonly extensions;
  readonly versions;
  readonly bundles;
  private readonly publishedVersions = new Map<string, VersionRecord>();

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

  /**
   * A published version never changes (the same version with other content is refused), so it is
   * kept once read: the gateway asks for it on every call, and on a fleet node each store read is
   * a round trip to PostgreSQL.
   */
  getVersion(id: string, version: string): VersionRecord | undefined {
    const key = `${id}\u0000${version}`;
    const known = this.publishedVersions.get(key);
    if (known) return known;
    const record = this.versions.get([id, version]);
    if (record) {
      if (this.publishedVersions.size >= maxRememberedVersions) this.publishedVersions.delete(this.publishedVersions.keys().next().value!);
      this.publishedVersions.set(key, record);
    }
    return record;
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
