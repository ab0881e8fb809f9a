import type { Manifest, Reproducibility } from '../../../lib/bundle/index.ts';
import type { RebuildCheck } from '../../plugins/extensions/registry/rebuild-checks.ts';

/** What the console shows about a published version's signature today (against this host's trust bundle). */
export interface SignatureView {
  /** true: the signing key is trusted here; false: it no longer is; undefined: the host has no trust bundle. */
  trusted: boolean | undefined;
  publisher: string;
  keyId: string;
}

export interface VersionView {
  extensionId: string;
  version: string;
  contentHash: string;
  publishedAt: string;
  size: number;
  manifest: Manifest;
  signature: SignatureView;
  /** What the bundle says about how it was built (lib/bundle/provenance.ts). */
  reproducibility: Reproducibility;
  /** What the host found when it rebuilt the version from that source, once it has. */
  rebuildCheck?: RebuildCheck;
}

export interface CatalogEntryView {
  id: string;
  name: string;
  publisher: string;
  description?: string;
  latest: VersionView;
  versions: VersionView[];
  installed?: { version: string; enabled: boolean };
}

/** An install as the console shows it: never any secret value, only names. */
export interface InstallView {
  extensionId: string;
  name: string;
  version: string;
  contentHash: string;
  enabled: boolean;
  config: Record<string, unknown>;
  grants: string[];
  egress: string[];
  limits: { memoryMb: number; timeoutMs: number; requestsPerMinute: number; maxConcurrency: number };
  secretNames: string[];
  createdAt: string;
  updatedAt: string;
  manifest: Manifest;
  /** Newer published versions, newest first. */
  newer: VersionView[];
  hasUi: boolean;
}

export interface LimitCeilingsView {
  memoryMb: number;
  timeoutMs: number;
  requestsPerMinute: number;
  maxConcurrency: number;
}

export function displayName(manifest: Pick<Manifest, 'displayName' | 'name'>): string {
  return manifest.displayName || manifest.name;
}
