import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { AlgaError } from '../../../lib/errors/index.ts';
import { secretsDir } from '../infra-secrets.ts';
import { readPrivateFile, writePrivateFile } from './files.ts';
import { downloadLinkKeyFile, sessionKeyFile, type SecretFileSpec } from './infra-secret-files.ts';
import { newPrefixedKeyId, serializeKeyring, withNewActiveKey, withoutKey, type Keyring, type KeyringEntry } from './keyring.ts';
import { publishedPlaceholders } from './placeholders.ts';

/**
 * Rotation of the keyring secrets (`alga-host rotate-key session|download-link|license-signing|
 * runner-envelope`). Each adds a new key, makes it active, and keeps the old one so what it
 * signed or sealed stays valid; the file is replaced atomically and a running host picks it up
 * (./live-reload.ts). `retire` removes an old key once nothing needs it. The encryption key has
 * its own offline rotation (./rotation.ts), which re-encrypts stored values.
 */

export interface KeyRotation {
  newKeyId: string;
  /** The keys still in the keyring besides the new one. */
  kept: string[];
}

function pathOf(dataDir: string, spec: SecretFileSpec<unknown>): string {
  return join(secretsDir(dataDir), spec.file);
}

export function readKeyringFile<K>(dataDir: string, spec: SecretFileSpec<Keyring<K>>): Keyring<K> {
  const path = pathOf(dataDir, spec);
  const text = readPrivateFile(path, spec.label);
  if (text === undefined) throw new AlgaError('E_SECRET_MISSING', `The ${spec.label} (${path}) does not exist; create it with \`alga-host init-secrets --data ${dataDir}\`.`);
  return spec.parse(text, { dataDir, label: spec.label, path, placeholders: publishedPlaceholders() });
}

/** Writes the keyring (0600, atomically), then reads it back through the validator. */
export function writeKeyringFile<K>(dataDir: string, spec: SecretFileSpec<Keyring<K>>, ring: Keyring<K>, encodeKey: (key: K) => unknown): void {
  writePrivateFile(pathOf(dataDir, spec), serializeKeyring(ring, encodeKey), true);
  readKeyringFile(dataDir, spec);
}

/** Adds `entry` as the new active key of the keyring in `spec`'s file. */
export function rotateKeyringFile<K>(dataDir: string, spec: SecretFileSpec<Keyring<K>>, entry: KeyringEntry<K>, encodeKey: (key: K) => unknown): KeyRotation {
  const ring = withNewActiveKey(readKeyringFile(dataDir, spec), entry);
  writeKeyringFile(dataDir, spec, ring, encodeKey);
  return { newKeyId: entry.keyId, kept: ring.entries.slice(1).map((kept) => kept.keyId) };
}

export function retireKeyringKey<K>(dataDir: string, spec: SecretFileSpec<Keyring<K>>, keyId: string, encodeKey: (key: K) => unknown): Keyring<K> {
  const ring = withoutKey(readKeyringFile(dataDir, spec), keyId, spec.label);
  writeKeyringFile(dataDir, spec, ring, encodeKey);
  return ring;
}

const base64 = (key: Buffer) => key.toString('base64');

/** Session signing: new cookies are signed with the new key; cookies signed with the old one still verify and are re-signed on use. */
export function rotateSessionKey(dataDir: string): KeyRotation {
  return rotateKeyringFile(dataDir, sessionKeyFile, { keyId: newPrefixedKeyId('sk'), key: randomBytes(32) }, base64);
}

/** Download links: new links are signed with the new key; the old key verifies only links it signed before. */
export function rotateDownloadLinkKey(dataDir: string): KeyRotation {
  return rotateKeyringFile(dataDir, downloadLinkKeyFile, { keyId: newPrefixedKeyId('dk'), key: randomBytes(32) }, base64);
}

export function retireSessionKey(dataDir: string, keyId: string): void {
  retireKeyringKey(dataDir, sessionKeyFile, keyId, base64);
}

export function retireDownloadLinkKey(dataDir: string, keyId: string): void {
  retireKeyringKey(dataDir, downloadLinkKeyFile, keyId, base64);
}
