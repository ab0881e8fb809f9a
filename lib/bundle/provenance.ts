import { createHash } from 'node:crypto';
import AjvModule from 'ajv';
import { readArchive, writeArchive } from './archive.ts';
import { AlgaError } from '../errors/index.ts';
import { isContentHash, type ContentHash } from './hash.ts';

/**
 * `provenance.json` in a bundle: what produced its `component.wasm`. Written by `alga-ext build`
 * (`dist/provenance.json`), packed beside the component, so the content hash and every signature
 * cover it. `alga-ext verify-build` rebuilds from source and compares against it.
 */
export interface Provenance {
  format: 'alga-provenance@1';
  /** sha256 over the project's source files (paths and bytes; manifest and lockfile included), see lib/build/source-files.ts. */
  sourceHash: ContentHash;
  /** sha256 of the `component.wasm` the build wrote. */
  componentHash: ContentHash;
  /** The build cache key: bundled code, WIT world, toolchain version and recipe. */
  buildKey: string;
  /** Tool name → version (componentize-js, jco, wizer, binaryen, esbuild, alga-sdk, node). */
  toolchain: Record<string, string>;
  settings: {
    /** Entry module, relative to the project. */
    entry: string;
    /** `process.platform-process.arch` of the build machine. */
    platform: string;
    /** componentize-js options and alga-ext's pinning (lib/build/componentize.ts). */
    recipe: string;
  };
}

/** `source.tar` in a bundle: the project's source files (the ones `sourceHash` covers), as a deterministic ustar archive. */
export const sourceArchiveEntry = 'source.tar';
export const provenanceEntry = 'provenance.json';

const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'sourceHash', 'componentHash', 'buildKey', 'toolchain', 'settings'],
  properties: {
    format: { const: 'alga-provenance@1' },
    sourceHash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    componentHash: { type: 'string', pattern: '^sha256:[0-9a-f]{64}$' },
    buildKey: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    toolchain: { type: 'object', maxProperties: 32, additionalProperties: { type: 'string', maxLength: 64 } },
    settings: {
      type: 'object',
      additionalProperties: false,
      required: ['entry', 'platform', 'recipe'],
      properties: {
        entry: { type: 'string', maxLength: 255 },
        platform: { type: 'string', maxLength: 64 },
        recipe: { type: 'string', maxLength: 1000 },
      },
    },
  },
} as const;

const Ajv = AjvModule.default ?? AjvModule;
const validate = new Ajv({ allErrors: false, strict: true }).compile(schema);

export function parseProvenance(bytes: Uint8Array | string): Provenance {
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes));
  } catch (error) {
    throw new AlgaError('E_PROVENANCE_INVALID', `provenance.json is not JSON: ${(error as Error).message}`);
  }
  if (!validate(value)) {
    const [first] = validate.errors ?? [];
    throw new AlgaError('E_PROVENANCE_INVALID', `provenance.json${first?.instancePath ?? ''}: ${first?.message ?? 'invalid'}.`);
  }
  const provenance = value as Provenance;
  if (!isContentHash(provenance.sourceHash) || !isContentHash(provenance.componentHash)) throw new AlgaError('E_PROVENANCE_INVALID', 'provenance.json: hashes must be sha256:<hex>.');
  return provenance;
}

/** Stable text: keys in a fixed order, so the same build writes the same bytes. */
export function serializeProvenance(provenance: Provenance): Uint8Array {
  const toolchain = Object.fromEntries(Object.entries(provenance.toolchain).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const ordered: Provenance = {
    format: provenance.format,
    sourceHash: provenance.sourceHash,
    componentHash: provenance.componentHash,
    buildKey: provenance.buildKey,
    toolchain,
    settings: { entry: provenance.settings.entry, platform: provenance.settings.platform, recipe: provenance.settings.recipe },
  };
  return new TextEncoder().encode(`${JSON.stringify(ordered, null, 2)}\n`);
}

/** sha256 over each source file's path, length and bytes, in path order: a renamed, added or changed file changes it. */
export function sourceHashOf(files: Map<string, Uint8Array>): ContentHash {
  const hash = createHash('sha256');
  for (const path of [...files.keys()].sort()) {
    const bytes = files.get(path)!;
    hash.update(`${path}\0${bytes.length}\0`).update(bytes);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The files as a deterministic ustar archive (a bundle's `source.tar`). */
export function sourceArchiveOf(files: Map<string, Uint8Array>): Uint8Array {
  return writeArchive([...files].map(([path, bytes]) => ({ path, bytes })));
}

export function filesOfSourceArchive(archive: Uint8Array): Map<string, Uint8Array> {
  return new Map(readArchive(archive).map((entry) => [entry.path, new Uint8Array(entry.bytes)]));
}

/** An attached source must be the one provenance.json says the component was built from. */
export function checkSourceArchive(archive: Uint8Array, provenance: Provenance | undefined): void {
  if (!provenance) throw new AlgaError('E_PROVENANCE_INVALID', 'The bundle has source.tar but no provenance.json saying what was built from it.');
  const attached = sourceHashOf(filesOfSourceArchive(archive));
  if (attached !== provenance.sourceHash) {
    throw new AlgaError('E_PROVENANCE_INVALID', `source.tar hashes to ${attached}; provenance.json says the component was built from ${provenance.sourceHash}.`);
  }
}

/**
 * What a bundle lets anyone check about how it was built, from its signed contents alone:
 * `source-attached` (source.tar matching provenance.json's source hash: rebuild it with
 * `alga-ext verify-build`), `provenance` (built by alga-ext build, source not attached), `none`.
 * The host does not rebuild, so it never claims more than this.
 */
export type Reproducibility = 'source-attached' | 'provenance' | 'none';

export function reproducibilityOf(bundle: { provenance?: Provenance; sourceArchive?: Uint8Array }): Reproducibility {
  if (!bundle.provenance) return 'none';
  return bundle.sourceArchive ? 'source-attached' : 'provenance';
}

/** Tools whose versions differ between two provenance records (or this machine and a record), as `name: a → b`. */
export function toolchainDifferences(recorded: Record<string, string>, current: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(recorded), ...Object.keys(current)])].sort();
  return names.filter((name) => recorded[name] !== current[name]).map((name) => `${name} ${recorded[name] ?? 'absent'} in the bundle, ${current[name] ?? 'absent'} here`);
}
