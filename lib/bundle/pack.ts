import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AlgaError } from '../errors/index.ts';
import { writeArchive, type ArchiveEntry } from './archive.ts';
import { assetsOf, checkUiEntry } from './assets.ts';
import { checkComponentAgainstManifest } from './component-check.ts';
import { contentHashOf, type ContentHash } from './hash.ts';
import { parseManifest, serializeManifest, validateManifest, type Manifest } from './manifest.ts';
import { checkSourceArchive, parseProvenance, provenanceEntry, serializeProvenance, sourceArchiveEntry, type Provenance } from './provenance.ts';

export interface PackInput {
  /** The manifest; `assets` is recomputed from `ui`. */
  manifest: Manifest | Record<string, unknown>;
  component: Uint8Array;
  /** UI files keyed by their path inside the bundle's `ui/` folder (e.g. `index.html`). */
  ui?: Map<string, Uint8Array>;
  /** What built the component; must name this component's hash. */
  provenance?: Provenance;
  /** The project's source files as a ustar archive (needs `provenance`). */
  sourceArchive?: Uint8Array;
}

export interface PackedBundle {
  bytes: Uint8Array;
  hash: ContentHash;
  manifest: Manifest;
}

/** Packs a bundle deterministically: the same inputs always give the same bytes. */
export function packBundle(input: PackInput): Uint8Array {
  return packWithManifest(input).bytes;
}

/**
 * Packs `manifest.json`, `dist/component.wasm`, `dist/provenance.json` (when the build wrote one
 * for this component) and `dist/ui/**` of a built project; `sourceArchive` adds `source.tar`.
 */
export function packProjectDir(projectDir: string, sourceArchive?: Uint8Array): PackedBundle {
  const root = resolve(projectDir);
  const manifestText = readRequired(join(root, 'manifest.json'), 'manifest.json', 'Is this an extension project?');
  const component = readRequired(join(root, 'dist', 'component.wasm'), 'dist/component.wasm', 'Run `alga-ext build` first.');
  const ui = readUiFolder(join(root, 'dist', 'ui'));
  const provenance = readProvenanceOf(join(root, 'dist', provenanceEntry), component);
  return packWithManifest({ manifest: parseManifest(manifestText), component, ui, provenance, sourceArchive });
}

/** dist/provenance.json, unless it describes another component (a build that was not `alga-ext build`'s). */
function readProvenanceOf(path: string, component: Uint8Array): Provenance | undefined {
  let text: Buffer;
  try {
    text = readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const provenance = parseProvenance(text);
  return provenance.componentHash === contentHashOf(component) ? provenance : undefined;
}

function packWithManifest(input: PackInput): PackedBundle {
  const ui = input.ui ?? new Map<string, Uint8Array>();
  const { assets: _ignored, ...declared } = input.manifest as Manifest;
  const assets = assetsOf(ui);
  const manifest = validateManifest(Object.keys(assets).length > 0 ? { ...declared, assets } : declared);
  checkUiEntry(manifest, ui);
  checkComponentAgainstManifest(input.component, manifest);
  if (input.provenance && input.provenance.componentHash !== contentHashOf(input.component)) {
    throw new AlgaError('E_PROVENANCE_INVALID', `provenance.json describes component ${input.provenance.componentHash}, not this one (${contentHashOf(input.component)}).`);
  }
  if (input.sourceArchive && !input.provenance) throw new AlgaError('E_VERIFY_BUILD_NO_PROVENANCE', 'source.tar needs the provenance.json of an `alga-ext build`; build again, then pack.');
  if (input.sourceArchive) checkSourceArchive(input.sourceArchive, input.provenance);
  const entries: ArchiveEntry[] = [
    { path: 'manifest.json', bytes: serializeManifest(manifest) },
    { path: 'component.wasm', bytes: input.component },
    ...(input.provenance ? [{ path: provenanceEntry, bytes: serializeProvenance(input.provenance) }] : []),
    ...(input.sourceArchive ? [{ path: sourceArchiveEntry, bytes: input.sourceArchive }] : []),
    ...[...ui].map(([path, bytes]) => ({ path: `ui/${path}`, bytes })),
  ];
  const bytes = writeArchive(entries);
  return { bytes, hash: contentHashOf(bytes), manifest };
}

function readRequired(path: string, label: string, hint: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AlgaError('E_BUNDLE_MISSING_ENTRY', `${label} not found. ${hint}`);
    throw error;
  }
}

function readUiFolder(folder: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const walk = (dir: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const name of names.sort()) {
      const path = join(dir, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      const stat = lstatSync(path);
      if (stat.isSymbolicLink()) throw new AlgaError('E_BUNDLE_LINK_ENTRY', `ui/${relative} is a symbolic link.`);
      if (stat.isDirectory()) walk(path, relative);
      else if (stat.isFile()) files.set(relative, readFileSync(path));
      else throw new AlgaError('E_BUNDLE_UNSUPPORTED_ENTRY', `ui/${relative} is not a regular file.`);
    }
  };
  walk(folder, '');
  return files;
}
