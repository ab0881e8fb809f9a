import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readKeyringFile, retireKeyringKey, writeKeyringFile, type KeyRotation } from '../../core/secrets/key-rotation.ts';
import { activeEntry, withNewActiveKey } from '../../core/secrets/keyring.ts';
import { licenseSigningKeyFile, newLicenseKeyId, newLicenseSigningKeyPem, type LicenseSigningKey } from '../../core/secrets/infra-secret-files.ts';
import { endorseKey } from './key-endorsement.ts';

/**
 * `alga-host rotate-key license-signing`: a new Ed25519 key with a new `kid` signs license tokens
 * from now on. The old key stays in the JWKS until the last token it signed has expired, and the
 * old key endorses the new one, so appliances that pinned the old key accept the new one
 * (./key-endorsement.ts) without an operator touching them.
 */

const encode = (key: LicenseSigningKey) => ({ privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });

export function rotateLicenseSigningKey(dataDir: string): KeyRotation {
  const ring = readKeyringFile(dataDir, licenseSigningKeyFile);
  const keyId = newLicenseKeyId();
  const privateKey = createPrivateKey(newLicenseSigningKeyPem());
  const publicKey = createPublicKey(privateKey);
  const key: LicenseSigningKey = { keyId, privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
  const endorsement = endorseKey({ keyId, publicKey }, activeEntry(ring).key);
  const rotated = withNewActiveKey(ring, { keyId, key, endorsement });
  writeKeyringFile(dataDir, licenseSigningKeyFile, rotated, encode);
  return { newKeyId: keyId, kept: rotated.entries.slice(1).map((entry) => entry.keyId) };
}

export function retireLicenseSigningKey(dataDir: string, keyId: string): void {
  retireKeyringKey(dataDir, licenseSigningKeyFile, keyId, encode);
}
