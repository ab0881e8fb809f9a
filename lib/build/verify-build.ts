import { mkdirSync, mkdtempSync, existsSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AlgaError } from '../errors/index.ts';
import { contentHashOf, filesOfSourceArchive, sourceHashOf, toolchainDifferences, unpackBundle, type ContentHash, type Provenance } from '../bundle/index.ts';
import { buildExtension, type BuildStage } from './index.ts';
import { projectSourceFiles } from './source-files.ts';
import { diffComponents, type SectionDifference } from './wasm-sections.ts';

export interface VerifyBuildResult {
  reproducible: boolean;
  /** Where the source came from: the folder given, or the bundle's source.tar. */
  source: 'folder' | 'bundle';
  recorded: Provenance;
  rebuilt: Provenance;
  bundleComponentHash: ContentHash;
  /** The differing sections of component.wasm, when it differs. */
  differences: SectionDifference[];
  /** `tool a in the bundle, b here` for each tool whose version differs. */
  toolchainDifferences: string[];
  /** The bundle's UI files that the rebuild's dist/ui/ lacks or has with other bytes. */
  uiDifferences: string[];
}

/**
 * Rebuilds a bundle's component from source in a fresh scratch folder with an empty build cache,
 * and compares it byte for byte with the bundle's. `sourceDir` defaults to the bundle's source.tar.
 */
export async function verifyBuild(bundleBytes: Uint8Array, sourceDir?: string, onProgress?: (stage: BuildStage, detail?: string) => void): Promise<VerifyBuildResult> {
  const bundle = unpackBundle(bundleBytes);
  const recorded = bundle.provenance;
  if (!recorded) throw new AlgaError('E_VERIFY_BUILD_NO_PROVENANCE', `Bundle ${bundle.hash} (${bundle.manifest.name}@${bundle.manifest.version}) was packed without provenance.json.`);
  let files: Map<string, Uint8Array>;
  if (sourceDir) {
    if (!existsSync(join(sourceDir, 'manifest.json'))) throw new AlgaError('E_BUILD_NO_PROJECT', `Looked in ${resolve(sourceDir)}.`);
    files = projectSourceFiles(resolve(sourceDir));
  } else if (bundle.sourceArchive) {
    files = filesOfSourceArchive(bundle.sourceArchive);
  } else {
    throw new AlgaError('E_VERIFY_BUILD_NO_SOURCE', `Bundle ${bundle.hash} has no source.tar; give the project folder it was built from.`);
  }
  if (!files.has(recorded.settings.entry) || recorded.settings.entry.split('/').includes('..')) {
    throw new AlgaError('E_BUILD_NO_ENTRY', `The bundle was built from ${recorded.settings.entry}, which the source does not have.`);
  }

  const scratch = mkdtempSync(join(tmpdir(), 'alga-verify-build-'));
  try {
    const projectDir = join(scratch, 'project');
    for (const [path, bytes] of files) {
      mkdirSync(dirname(join(projectDir, path)), { recursive: true });
      writeFileSync(join(projectDir, path), bytes);
    }
    // Installed packages are not source; the rebuild uses the folder's, as its build did.
    if (sourceDir && existsSync(join(sourceDir, 'node_modules'))) symlinkSync(resolve(sourceDir, 'node_modules'), join(projectDir, 'node_modules'), 'dir');
    const result = await buildExtension({ projectDir, entry: recorded.settings.entry, cacheDir: join(scratch, 'cache'), onProgress });
    const rebuiltComponent = new Uint8Array(readFileSync(result.componentPath));
    const identical = contentHashOf(rebuiltComponent) === contentHashOf(bundle.component);
    const uiDifferences = [...bundle.ui]
      .filter(([path, bytes]) => {
        const rebuiltPath = join(result.outDir, 'ui', path);
        return !existsSync(rebuiltPath) || contentHashOf(readFileSync(rebuiltPath)) !== contentHashOf(bytes);
      })
      .map(([path]) => `ui/${path}`);
    return {
      reproducible: identical && uiDifferences.length === 0,
      source: sourceDir ? 'folder' : 'bundle',
      recorded,
      rebuilt: { ...result.provenance, sourceHash: sourceHashOf(files) },
      bundleComponentHash: contentHashOf(bundle.component),
      differences: identical ? [] : diffComponents(bundle.component, rebuiltComponent).differences,
      toolchainDifferences: toolchainDifferences(recorded.toolchain, result.provenance.toolchain),
      uiDifferences,
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Why a rebuild differs, in one sentence, most telling reason first. */
export function explainMismatch(result: VerifyBuildResult): string {
  const parts = [`The rebuilt component.wasm is ${result.rebuilt.componentHash}, the bundle's is ${result.bundleComponentHash}.`];
  if (result.bundleComponentHash === result.rebuilt.componentHash) parts[0] = 'component.wasm is identical, but the UI files differ.';
  if (result.rebuilt.sourceHash !== result.recorded.sourceHash) parts.push(`The source differs from the one it was built from (source hash ${result.rebuilt.sourceHash} here, ${result.recorded.sourceHash} recorded).`);
  if (result.toolchainDifferences.length) parts.push(`Toolchain versions differ: ${result.toolchainDifferences.join('; ')}.`);
  if (result.recorded.settings.platform !== result.rebuilt.settings.platform) parts.push(`Built on ${result.recorded.settings.platform}, rebuilt on ${result.rebuilt.settings.platform}.`);
  if (result.recorded.settings.recipe !== result.rebuilt.settings.recipe) parts.push('The build recipe (componentize-js options, pinning) differs.');
  if (result.differences.length) {
    const shown = result.differences.slice(0, 3).map((d) => `${d.path} (${d.differingBytes} bytes)`);
    parts.push(`Differing sections: ${shown.join(', ')}${result.differences.length > 3 ? ', …' : ''}.`);
  }
  if (result.uiDifferences.length) parts.push(`UI files that differ: ${result.uiDifferences.slice(0, 5).join(', ')}.`);
  return parts.join(' ');
}
