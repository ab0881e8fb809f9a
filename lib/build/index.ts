import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { AlgaError } from '../errors/index.ts';
import { capabilityByInterface } from '../bundle/capabilities.ts';
import { withSourceMap } from '../bundle/source-map-section.ts';
import { contentHashOf } from '../bundle/hash.ts';
import { provenanceEntry, serializeProvenance, sourceHashOf, type Provenance } from '../bundle/provenance.ts';
import { projectSourceFiles } from './source-files.ts';
import { toolchainVersions } from './toolchain.ts';
import { bundleExtensionSource } from './bundle-source.ts';
import { componentizeRecipe, componentizeSource, componentizeVersion } from './componentize.ts';
import { buildUiFiles } from './ui.ts';
import { cachedComponent, writeAtomically } from './component-cache.ts';
import { narrowedWorld, witInterfaceFiles } from './wit-world.ts';

export type BuildStage = 'bundle' | 'ui' | 'cache-hit' | 'wait' | 'componentize' | 'write' | 'done';

export interface BuildOptions {
  /** The extension project folder (holds manifest.json and src/). */
  projectDir: string;
  /** Entry module, relative to the project; default `src/index.ts`. */
  entry?: string;
  /** Output folder; default `<project>/dist`. */
  outDir?: string;
  /** Where built components are kept by source hash; default `<project>/.alga-cache`. */
  cacheDir?: string;
  onProgress?: (stage: BuildStage, detail?: string) => void;
}

export interface BuildResult {
  componentPath: string;
  outDir: string;
  /** sha256 of everything that determines the component: bundled code, world, toolchain (the build cache key). */
  sourceHash: string;
  /** What `dist/provenance.json` records: the project's source hash, toolchain versions, settings. */
  provenance: Provenance;
  cached: boolean;
  usedInterfaces: string[];
  bytes: number;
  /** Files written to `dist/ui/` (relative to it), empty without a `ui/` folder. */
  uiFiles: string[];
  /** Capabilities the code needs that manifest.json does not declare (`pack` refuses those). */
  missingCapabilities: string[];
}

const worldName = 'extension-build';

/**
 * TypeScript sources → one ES module → WebAssembly component in `dist/component.wasm`, plus
 * `ui/` → `dist/ui/`. Everything is compiled before anything is written, so a failed build
 * leaves the previous dist as it was.
 */
export async function buildExtension(options: BuildOptions): Promise<BuildResult> {
  const projectDir = resolve(options.projectDir);
  if (!existsSync(join(projectDir, 'manifest.json'))) throw new AlgaError('E_BUILD_NO_PROJECT', `Looked in ${projectDir}.`);
  const entry = resolve(projectDir, options.entry ?? 'src/index.ts');
  if (!existsSync(entry)) throw new AlgaError('E_BUILD_NO_ENTRY', `Expected ${entry}.`);
  const outDir = resolve(projectDir, options.outDir ?? 'dist');
  const cacheDir = resolve(projectDir, options.cacheDir ?? '.alga-cache');
  const progress = options.onProgress ?? (() => {});

  progress('bundle');
  const projectSourceHash = sourceHashOf(projectSourceFiles(projectDir, [outDir, cacheDir]));
  const bundled = await bundleExtensionSource(entry, projectDir);
  progress('ui');
  const ui = await buildUiFiles(projectDir);
  const { component: compiled, cached, sourceHash } = await componentOf(bundled.code, bundled.usedInterfaces, cacheDir, progress);
  // Attached after the cache: a change that moves positions only (a comment) is a cache hit with a new map.
  const component = withSourceMap(compiled, bundled.map);

  progress('write');
  mkdirSync(outDir, { recursive: true });
  const componentPath = join(outDir, 'component.wasm');
  const provenance: Provenance = {
    format: 'alga-provenance@1',
    sourceHash: projectSourceHash,
    componentHash: contentHashOf(component),
    buildKey: sourceHash,
    toolchain: toolchainVersions(),
    settings: { entry: relative(projectDir, entry).split(sep).join('/'), platform: `${process.platform}-${process.arch}`, recipe: componentizeRecipe },
  };
  writeAtomically(componentPath, component);
  writeAtomically(join(outDir, provenanceEntry), serializeProvenance(provenance));
  replaceUi(outDir, ui);
  progress('done');
  return {
    componentPath,
    outDir,
    sourceHash,
    provenance,
    cached,
    usedInterfaces: bundled.usedInterfaces,
    bytes: component.length,
    uiFiles: ui ? [...ui.keys()] : [],
    missingCapabilities: missingCapabilities(projectDir, bundled.usedInterfaces),
  };
}

/**
 * The component for one bundled ES module importing `usedInterfaces`: from the cache by source hash
 * (code + world + wit/ + componentize-js version and options), else made by componentize-js.
 */
export async function componentOf(code: string, usedInterfaces: string[], cacheDir: string, progress: (stage: BuildStage, detail?: string) => void = () => {}) {
  const world = narrowedWorld(worldName, usedInterfaces);
  const sourceHash = hashOf([code, world, ...witInterfaceFiles().values(), await componentizeVersion(), componentizeRecipe]);
  const result = await cachedComponent(
    cacheDir,
    sourceHash,
    () => {
      progress('componentize');
      return componentizeInScratch(code, world);
    },
    () => progress('wait'),
  );
  if (result.cached) progress('cache-hit', sourceHash);
  return { ...result, sourceHash };
}

/** Capabilities the code uses that manifest.json does not declare. Read leniently: manifest errors are reported in full by `pack`. */
export function missingCapabilities(projectDir: string, usedInterfaces: string[]): string[] {
  let declared: unknown;
  try {
    declared = (JSON.parse(readFileSync(join(projectDir, 'manifest.json'), 'utf8')) as { capabilities?: unknown }).capabilities;
  } catch {
    declared = undefined;
  }
  const have = new Set(Array.isArray(declared) ? declared : []);
  return usedInterfaces
    .map((name) => (capabilityByInterface as Record<string, string>)[name])
    .filter((capability): capability is string => capability !== undefined && !have.has(capability));
}

async function componentizeInScratch(code: string, world: string): Promise<Uint8Array> {
  const scratch = mkdtempSync(join(tmpdir(), 'alga-build-'));
  try {
    const witPath = join(scratch, 'wit');
    mkdirSync(witPath);
    for (const [name, text] of witInterfaceFiles()) writeFileSync(join(witPath, name), text);
    writeFileSync(join(witPath, 'world.wit'), world);
    const sourcePath = join(scratch, 'extension.js');
    writeFileSync(sourcePath, code);
    return await componentizeSource(sourcePath, witPath, worldName, scratch);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Writes the new `dist/ui/` beside the old one, then swaps it in. */
function replaceUi(outDir: string, ui: Map<string, Uint8Array> | undefined): void {
  const target = join(outDir, 'ui');
  if (!ui) {
    rmSync(target, { recursive: true, force: true });
    return;
  }
  const staging = join(outDir, `.ui-${process.pid}-${Date.now()}`);
  try {
    for (const [name, bytes] of ui) {
      const path = join(staging, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, bytes);
    }
    mkdirSync(staging, { recursive: true });
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

function hashOf(parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}
