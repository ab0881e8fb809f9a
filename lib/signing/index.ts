export { generateSigningKey, keyIdOf, writeKeyFile, readKeyFile, parseSigningKey, type SigningKey } from './keys.ts';
export {
  signatureMessage,
  signContentHash,
  verifyEd25519,
  addSignature,
  addSigstoreBundle,
  parseSignatureFile,
  type SignatureFile,
  type Ed25519Signature,
} from './signature-file.ts';
export { TrustBundleSource } from './trust-source.ts';
export { missingTrustFileHint, loadTrustBundle, parseTrustBundle, withTrustedKey, withoutTrustedKey, type TrustBundle, type TrustBundleDocument, type TrustedKey, type SigstoreTrust } from './trust-bundle.ts';
export { verifySigstoreBundle, publicGoodTrustedRoot, type SigstoreVerifyOptions, type SigstoreSigner } from './sigstore.ts';
export { verifyBundle, type VerifiedBundle, type BundleSigner, type VerifyOptions } from './verify.ts';
