export { contentHashOf, isContentHash, hexOfContentHash, type ContentHash } from './hash.ts';
export { packBundle, packProjectDir, type PackInput, type PackedBundle } from './pack.ts';
export { assetsOf } from './assets.ts';
export { unpackBundle, type UnpackedBundle, type BundleLimits } from './unpack.ts';
export { componentImports, componentExports, readComponentInterfaces } from './component-interfaces.ts';
export { checkComponentAgainstManifest } from './component-check.ts';
export { parseEgressEntry, egressAllows, egressCovers, type EgressEntry } from './egress.ts';
export { validateManifest, parseManifest, serializeManifest, manifestSchema, type Manifest, type HttpMethod } from './manifest.ts';
export {
  capabilities,
  capabilityByInterface,
  interfaceByCapability,
  capabilityForImport,
  isCapability,
  type Capability,
  type WitInterface,
} from './capabilities.ts';
export { defaultArchiveLimits, readArchive, writeArchive, type ArchiveEntry, type ArchiveLimits } from './archive.ts';
export {
  storedBundlePath,
  storedSignaturePath,
  storeBundle,
  storeHashedBundle,
  storeSignatureFile,
  readStoredBundle,
  readStoredSignatureFile,
  hasStoredBundle,
  listStoredBundles,
  removeStoredBundle,
} from './store.ts';
export { folderBundleBlobs, type BundleBlobs } from './blob-store.ts';
export { readUserFile, readOptionalText, writeUserFile } from './files.ts';
export { withSourceMap, readSourceMap, sourceMapSectionName } from './source-map-section.ts';
export {
  parseProvenance,
  serializeProvenance,
  toolchainDifferences,
  sourceHashOf,
  sourceArchiveOf,
  filesOfSourceArchive,
  reproducibilityOf,
  provenanceEntry,
  sourceArchiveEntry,
  type Provenance,
  type Reproducibility,
} from './provenance.ts';
