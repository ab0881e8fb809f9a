import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { AlgaError } from '../../../lib/errors/index.ts';
import { newKeyId, type EncryptionKeys } from './encryption.ts';
import { activeEntry, isKeyringDocument, parseKeyringDocument, singleKeyring, type Keyring } from './keyring.ts';
import { checkKeyBytes, checkTokenString } from './strength.ts';
import { decodedForms, isPublishedKeyBytes, isPublishedPlaceholder, type PublishedPlaceholders } from './placeholders.ts';

/**
 * The infra secrets, one entry each: the file it lives in (under `<data>/secrets/`), how to
 * generate it from the CSPRNG, and how to parse and check it. This table is the one generator
 * and the one validator; init-secrets, start, the running host's reload and rotate-key all go
 * through it. The signing and sealing keys are keyrings (./keyring.ts), so they rotate without
 * invalidating what the old key made.
 */

export type Profile = 'appliance' | 'control-plane' | 'all' | (string & {});

export interface LicenseSigningKey {
  keyId: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** SPKI PEM of the public key, for publishing to verifiers. */
  publicKeyPem: string;
}

/** A runner box key pair (base64); install secrets are sealed to the public key. */
export interface RunnerKeyPair {
  publicKey: string;
  secretKey: string;
}

export interface ParseContext {
  dataDir: string;
  label: string;
  path: string;
  placeholders: PublishedPlaceholders;
}

export interface SecretFileSpec<T> {
  /** Names the secret in every error sentence. */
  label: string;
  file: string;
  appliesTo(profile: Profile): boolean;
  /** Stored data depends on it (values sealed with it, tokens verified with it): once the host has data, a lost one is not silently replaced. */
  guardsData?: boolean;
  generate(): string;
  parse(text: string, context: ParseContext): T;
  /** The InfraSecrets fields the parsed value fills. */
  fields(value: T): Record<string, unknown>;
}

export const MIN_KEY_BYTES = 32;
export const MIN_TOKEN_CHARS = 32;

const everyProfile = () => true;
const controlPlaneOnly = (profile: Profile) => profile === 'control-plane' || profile === 'all';

function fixHint(context: ParseContext): string {
  return `Generate a new one with \`alga-host init-secrets --data ${context.dataDir} --force\` (or remove ${context.path} and run init-secrets).`;
}

function placeholderError(context: ParseContext): AlgaError {
  return new AlgaError('E_SECRET_PLACEHOLDER', `The ${context.label} (${context.path}) is a value copied from the project's docs or examples. ${fixHint(context)}`);
}

function refusePlaceholder(value: string, context: ParseContext): void {
  if (isPublishedPlaceholder(value, context.placeholders)) throw placeholderError(context);
}

/** Key material is compared as bytes: the docs' key in another base64 spelling is the same key. */
function refusePublishedBytes(bytes: Uint8Array, context: ParseContext): void {
  if (isPublishedKeyBytes(bytes, context.placeholders)) throw placeholderError(context);
}

function decodeKey(value: unknown, context: ParseContext, what: string): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/_-]+={0,2}$/.test(value.trim())) {
    throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) ${what} is not base64. ${fixHint(context)}`);
  }
  refusePlaceholder(value.trim(), context);
  const bytes = Buffer.from(value.trim(), 'base64');
  refusePublishedBytes(bytes, context);
  const problem = checkKeyBytes(bytes, MIN_KEY_BYTES);
  if (problem) throw new AlgaError('E_SECRET_WEAK', `The ${context.label} (${context.path}) ${what} is unusable: ${problem.reason}. ${fixHint(context)}`);
  return bytes;
}

function parseJson(text: string, context: ParseContext): Record<string, unknown> {
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) is not a JSON object. ${fixHint(context)}`);
}

export function serializeEncryptionKeys(keyring: EncryptionKeys): string {
  const keys = Object.fromEntries(Object.entries(keyring.keys).map(([id, key]) => [id, key.toString('base64')]));
  return `${JSON.stringify({ activeKeyId: keyring.activeKeyId, keys }, null, 2)}\n`;
}

export function newEncryptionKey(): { id: string; key: Buffer } {
  return { id: newKeyId(), key: randomBytes(32) };
}

export const encryptionKeysFile: SecretFileSpec<EncryptionKeys> = {
  guardsData: true,
  label: 'encryption key',
  file: 'encryption-keys.json',
  appliesTo: everyProfile,
  generate() {
    const { id, key } = newEncryptionKey();
    return serializeEncryptionKeys({ activeKeyId: id, keys: { [id]: key } });
  },
  parse(text, context) {
    const json = parseJson(text, context);
    const keysJson = json.keys;
    const activeKeyId = json.activeKeyId;
    if (typeof activeKeyId !== 'string' || !keysJson || typeof keysJson !== 'object') {
      throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) needs "activeKeyId" and "keys". ${fixHint(context)}`);
    }
    const keys: Record<string, Buffer> = {};
    for (const [id, value] of Object.entries(keysJson as Record<string, unknown>)) {
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) has an invalid key id "${id}".`);
      const key = decodeKey(value, context, `key ${id}`);
      if (key.length !== 32) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) key ${id} must be exactly 32 bytes for AES-256.`);
      keys[id] = key;
    }
    if (!keys[activeKeyId]) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) names active key ${activeKeyId}, which it does not contain.`);
    return { activeKeyId, keys };
  },
  fields: (encryptionKeys) => ({ encryptionKeys }),
};

/** A keyring file, or the bare single-key form `init-secrets` writes (a keyring of one, key id `initial`). */
function parseKeyringFile<K>(text: string, context: ParseContext, parseKey: (value: unknown, what: string) => K, bare: (text: string) => K | undefined): Keyring<K> {
  if (text.trim().startsWith('{')) {
    const json = parseJson(text, context);
    if (isKeyringDocument(json)) {
      return parseKeyringDocument(json, `The ${context.label} file (${context.path})`, (value, keyId) => parseKey(value, `key ${keyId}`));
    }
  }
  const single = bare(text);
  if (single === undefined) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) is neither a key nor a keyring ({"activeKeyId", "keys"}). ${fixHint(context)}`);
  return singleKeyring('initial', single);
}

/** Symmetric keys (session signing, download links): 32+ random bytes, base64. */
function parseSymmetricKeyring(text: string, context: ParseContext): Keyring<Buffer> {
  return parseKeyringFile(text, context, (value, what) => decodeKey(value, context, what), (bare) => decodeKey(bare, context, 'value'));
}

export const sessionKeyFile: SecretFileSpec<Keyring<Buffer>> = {
  label: 'session signing key',
  file: 'session-key',
  appliesTo: everyProfile,
  generate: () => `${randomBytes(32).toString('base64')}\n`,
  parse: parseSymmetricKeyring,
  fields: (sessionKeys) => ({ sessionKeys, sessionKey: activeEntry(sessionKeys).key }),
};

export const runnerServiceTokenFile: SecretFileSpec<string> = {
  label: 'runner service token',
  file: 'runner-service-token',
  appliesTo: everyProfile,
  generate: () => `${randomBytes(32).toString('base64url')}\n`,
  parse(text, context) {
    const token = text.trim();
    if (!/^[\x21-\x7e]+$/.test(token)) {
      throw new AlgaError(token ? 'E_SECRET_INVALID' : 'E_SECRET_MISSING', `The ${context.label} (${context.path}) is empty or contains spaces or control characters. ${fixHint(context)}`);
    }
    refusePlaceholder(token, context);
    // The token's randomness, however it is spelled: the docs' sample re-encoded is still the docs' sample.
    for (const form of decodedForms(token)) refusePublishedBytes(Buffer.from(form, 'hex'), context);
    const problem = checkTokenString(token, MIN_TOKEN_CHARS);
    if (problem) throw new AlgaError('E_SECRET_WEAK', `The ${context.label} (${context.path}) is unusable: ${problem.reason}. ${fixHint(context)}`);
    return token;
  },
  fields: (runnerServiceToken) => ({ runnerServiceToken }),
};

export function newRunnerKeyPair(): RunnerKeyPair {
  const pair = nacl.box.keyPair();
  return { publicKey: Buffer.from(pair.publicKey).toString('base64'), secretKey: Buffer.from(pair.secretKey).toString('base64') };
}

function parseRunnerKeyPair(value: unknown, context: ParseContext, what: string): RunnerKeyPair {
  const pair = (value && typeof value === 'object' ? value : {}) as Record<string, unknown>;
  const secretKey = decodeKey(pair.secretKey, context, `${what} secret key`);
  if (secretKey.length !== nacl.box.secretKeyLength) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) ${what} secret key must be ${nacl.box.secretKeyLength} bytes.`);
  const derived = Buffer.from(nacl.box.keyPair.fromSecretKey(secretKey).publicKey).toString('base64');
  if (pair.publicKey !== derived) throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) ${what} public key does not belong to its secret key. ${fixHint(context)}`);
  return { publicKey: derived, secretKey: secretKey.toString('base64') };
}

export const runnerKeyPairFile: SecretFileSpec<Keyring<RunnerKeyPair>> = {
  guardsData: true,
  label: 'runner key pair',
  file: 'runner-keypair.json',
  appliesTo: everyProfile,
  generate: () => `${JSON.stringify(newRunnerKeyPair(), null, 2)}\n`,
  parse(text, context) {
    return parseKeyringFile(text, context, (value, what) => parseRunnerKeyPair(value, context, what), (bare) => parseRunnerKeyPair(parseJson(bare, context), context, 'key pair'));
  },
  fields: (runnerKeys) => ({ runnerKeys, runnerKeyPair: { ...activeEntry(runnerKeys).key } }),
};

export function newLicenseSigningKeyPem(): string {
  return generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

export function newLicenseKeyId(): string {
  return `lk-${newKeyId().slice(3)}`;
}

function parseLicenseKey(pem: unknown, keyId: string, context: ParseContext): LicenseSigningKey {
  if (typeof pem !== 'string') throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) key ${keyId} needs "privateKey" (PKCS#8 PEM). ${fixHint(context)}`);
  refusePlaceholder(pem, context);
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) key ${keyId} is not a PEM private key. ${fixHint(context)}`);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new AlgaError('E_SECRET_INVALID', `The ${context.label} (${context.path}) key ${keyId} must be an Ed25519 key.`);
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d ?? '', 'base64url');
  refusePublishedBytes(privateKey.export({ format: 'der', type: 'pkcs8' }), context);
  refusePublishedBytes(seed, context);
  const problem = checkKeyBytes(seed, MIN_KEY_BYTES);
  if (problem) throw new AlgaError('E_SECRET_WEAK', `The ${context.label} (${context.path}) key ${keyId} is unusable: ${problem.reason}. ${fixHint(context)}`);
  const publicKey = createPublicKey(privateKey);
  return { keyId, privateKey, publicKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

export const licenseSigningKeyFile: SecretFileSpec<Keyring<LicenseSigningKey>> = {
  label: 'license signing key',
  file: 'license-signing-key.json',
  appliesTo: controlPlaneOnly,
  generate() {
    return `${JSON.stringify({ keyId: newLicenseKeyId(), privateKey: newLicenseSigningKeyPem() }, null, 2)}\n`;
  },
  parse(text, context) {
    const json = parseJson(text, context);
    if (isKeyringDocument(json)) {
      return parseKeyringDocument(json, `The ${context.label} file (${context.path})`, (value, keyId) =>
        parseLicenseKey((value as { privateKey?: unknown } | undefined)?.privateKey, keyId, context),
      );
    }
    if (typeof json.keyId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(json.keyId) || typeof json.privateKey !== 'string') {
      throw new AlgaError('E_SECRET_INVALID', `The ${context.label} file (${context.path}) needs "keyId" and "privateKey" (PKCS#8 PEM). ${fixHint(context)}`);
    }
    return singleKeyring(json.keyId, parseLicenseKey(json.privateKey, json.keyId, context));
  },
  fields: (licenseSigningKeys) => ({ licenseSigningKeys, licenseSigningKey: activeEntry(licenseSigningKeys).key }),
};

export const downloadLinkKeyFile: SecretFileSpec<Keyring<Buffer>> = {
  label: 'download link signing key',
  file: 'download-link-key',
  appliesTo: controlPlaneOnly,
  generate: () => `${randomBytes(32).toString('base64')}\n`,
  parse: parseSymmetricKeyring,
  fields: (downloadLinkKeys) => ({ downloadLinkKeys, downloadLinkKey: activeEntry(downloadLinkKeys).key }),
};

/** Every infra secret, in the order they are generated and checked. */
export const infraSecretFiles: SecretFileSpec<any>[] = [
  encryptionKeysFile,
  sessionKeyFile,
  runnerServiceTokenFile,
  runnerKeyPairFile,
  licenseSigningKeyFile,
  downloadLinkKeyFile,
];
