import { AlgaError } from '../errors/index.ts';
import { contentHashOf } from './hash.ts';
import type { Manifest } from './manifest.ts';

/** `ui/<path>` → content hash of each UI file, in path order (the manifest's `assets`). */
export function assetsOf(ui: Map<string, Uint8Array>): Record<string, string> {
  const assets: Record<string, string> = {};
  for (const path of [...ui.keys()].sort()) assets[`ui/${path}`] = contentHashOf(ui.get(path)!);
  return assets;
}

/** The UI files must be exactly those listed in `assets`, each with its listed hash. */
export function checkAssets(manifest: Manifest, ui: Map<string, Uint8Array>): void {
  const assets = manifest.assets ?? {};
  for (const [path, bytes] of ui) {
    const listed = assets[`ui/${path}`];
    if (listed === undefined) throw new AlgaError('E_BUNDLE_ASSET_MISMATCH', `ui/${path} is not listed in the manifest's assets.`);
    if (listed !== contentHashOf(bytes)) throw new AlgaError('E_BUNDLE_ASSET_MISMATCH', `ui/${path} does not match its hash in the manifest's assets.`);
  }
  for (const path of Object.keys(assets)) {
    if (!ui.has(path.slice('ui/'.length))) throw new AlgaError('E_BUNDLE_ASSET_MISMATCH', `${path} is listed in assets but not in the bundle.`);
  }
}

/** The iframe entry named by the manifest must be one of the UI files. */
export function checkUiEntry(manifest: Manifest, ui: Map<string, Uint8Array>): void {
  const entry = manifest.ui?.iframe?.entry;
  if (entry !== undefined && !ui.has(entry)) {
    throw new AlgaError('E_MANIFEST_INVALID', `/ui/iframe/entry: names "${entry}", which is not in the bundle's ui/ folder.`);
  }
}
