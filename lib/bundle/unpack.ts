import { AlgaError } from '../errors/index.ts';
import { defaultArchiveLimits, readArchive, type ArchiveLimits } from './archive.ts';
import { checkComponentAgainstManifest } from './component-check.ts';
import { contentHashOf, type ContentHash } from './hash.ts';
import { parseManifest, type Manifest } from './manifest.ts';
import { checkAssets, checkUiEntry } from './assets.ts';
import { checkSourceArchive, parseProvenance, provenanceEntry, sourceArchiveEntry, type Provenance } from './provenance.ts';

export interface UnpackedBundle {
  manifest: Manifest;
  component: Uint8Array;
  /** UI files keyed by their path inside `ui/` (e.g. `index.html`). */
  ui: Map<string, Uint8Array>;
  hash: ContentHash;
  /** The component's WIT imports and exports, as read from its binary. */
  imports: string[];
  exports: string[];
  /** What built the component (`provenance.json`), when the bundle records it. */
  provenance?: Provenance;
  /** The project's source files as a ustar archive (`source.tar`), when the publisher attached them. */
  sourceArchive?: Uint8Array;
}

export type BundleLimits = Partial<ArchiveLimits>;

/**
 * Reads and checks a bundle: safe archive, valid manifest, UI files matching `assets`,
 * a component whose imports the manifest's capabilities cover.
 */
export function unpackBundle(bytes: Uint8Array, limits: BundleLimits = {}): UnpackedBundle {
  return unpackHashedBundle(bytes, contentHashOf(bytes), limits);
}

/** `unpackBundle` for bytes whose hash the caller has just computed (saves hashing twice). */
export function unpackHashedBundle(bytes: Uint8Array, hash: ContentHash, limits: BundleLimits = {}): UnpackedBundle {
  const entries = readArchive(bytes, { ...defaultArchiveLimits, ...limits });
  let manifestBytes: Uint8Array | undefined;
  let component: Uint8Array | undefined;
  const ui = new Map<string, Uint8Array>();
  let provenance: Provenance | undefined;
  let sourceArchive: Uint8Array | undefined;
  for (const entry of entries) {
    if (entry.path === 'manifest.json') manifestBytes = entry.bytes;
    else if (entry.path === 'component.wasm') component = new Uint8Array(entry.bytes);
    else if (entry.path === provenanceEntry) provenance = parseProvenance(entry.bytes);
    else if (entry.path === sourceArchiveEntry) sourceArchive = new Uint8Array(entry.bytes);
    else if (entry.path.startsWith('ui/')) ui.set(entry.path.slice(3), new Uint8Array(entry.bytes));
    else throw new AlgaError('E_BUNDLE_UNEXPECTED_ENTRY', `Path: ${entry.path}.`);
  }
  if (!manifestBytes) throw new AlgaError('E_BUNDLE_MISSING_ENTRY', 'manifest.json is missing.');
  if (!component) throw new AlgaError('E_BUNDLE_MISSING_ENTRY', 'component.wasm is missing.');
  const manifest = parseManifest(manifestBytes);
  checkAssets(manifest, ui);
  checkUiEntry(manifest, ui);
  const { imports, exports } = checkComponentAgainstManifest(component, manifest);
  if (sourceArchive) checkSourceArchive(sourceArchive, provenance);
  return { manifest, component, ui, hash, imports, exports, provenance, sourceArchive };
}

