import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AlgaError } from '../../lib/errors/index.ts';
import { isProfile } from './config.ts';
import type { EncryptionKeys } from './secrets/encryption.ts';
import { ensurePrivateDir, readPrivateFile, writePrivateFile } from './secrets/files.ts';
import {
  encryptionKeysFile,
  infraSecretFiles,
  newEncryptionKey,
  serializeEncryptionKeys,
  type LicenseSigningKey,
  type Profile,
  type RunnerKeyPair,
} from './secrets/infra-secret-files.ts';
import type { Keyring } from './secrets/keyring.ts';
import { publishedPlaceholders } from './secrets/placeholders.ts';

/**
 * Infra secrets: machine-scoped keys and tokens the host and runner need, generated once from
 * the CSPRNG into `<data>/secrets/` (mode 0600) and checked on every start. One generator, one
 * validator, used by `alga-host init-secrets`, `alga-host start` and `alga-host rotate-key`.
 */

export type { Profile, LicenseSigningKey, RunnerKeyPair, Keyring };
export type { EncryptionKeys };

/**
 * The infra secrets of a host. A running host reloads them when their files change
 * (`alga-host rotate-key`): read the fields when they are used, not once at start. Each keyring's
 * active key is also given on its own (`sessionKey`, `runnerKeyPair`, …).
 */
export interface InfraSecrets {
  encryptionKeys: EncryptionKeys;
  /** Signs session cookies (the active key); the keyring's others still verify. */
  sessionKey: Buffer;
  sessionKeys: Keyring<Buffer>;
  runnerServiceToken: string;
  /** base64 nacl box key pair; install secrets are sealed to the active publicKey, and the runner opens with any of the keyring's. */
  runnerKeyPair: RunnerKeyPair;
  runnerKeys: Keyring<RunnerKeyPair>;
  /** Control plane only: Ed25519 key that signs license JWTs (the active one; the JWKS serves the others until their tokens expire). */
  licenseSigningKey?: LicenseSigningKey;
  licenseSigningKeys?: Keyring<LicenseSigningKey>;
  /** Control plane only: HMAC key for presigned download links (the active one). */
  downloadLinkKey?: Buffer;
  downloadLinkKeys?: Keyring<Buffer>;
}

export interface InfraSecretOptions {
  profile: Profile;
  /** Regenerate every secret. Existing encryption keys stay in the keyring (values sealed with them stay readable); a fresh one becomes active. */
  overwrite?: boolean;
  /** Root scanned for published placeholder values (tests only; defaults to the project). */
  placeholderRoot?: string;
}

export interface InitSecretsReport {
  secrets: InfraSecrets;
  /** Labels of the secrets written by this call. */
  created: string[];
  /** Labels of the secrets that already existed and were kept. */
  kept: string[];
}

export function secretsDir(dataDir: string): string {
  return join(dataDir, 'secrets');
}

export function encryptionKeysPath(dataDir: string): string {
  return join(secretsDir(dataDir), encryptionKeysFile.file);
}

function specsFor(profile: Profile) {
  if (!isProfile(profile)) throw new AlgaError('E_PROFILE_UNKNOWN', `Got "${profile}".`);
  return infraSecretFiles.filter((spec) => spec.appliesTo(profile));
}

/** Loads and checks every secret the profile needs; throws a sentence naming the first bad one. */
export function loadInfraSecrets(dataDir: string, options: { profile: Profile; placeholderRoot?: string }): InfraSecrets {
  const placeholders = publishedPlaceholders(options.placeholderRoot);
  const result: Record<string, unknown> = {};
  for (const spec of specsFor(options.profile)) {
    const path = join(secretsDir(dataDir), spec.file);
    const text = readPrivateFile(path, spec.label);
    if (text === undefined) {
      throw new AlgaError('E_SECRET_MISSING', `The ${spec.label} (${path}) does not exist; create it with \`alga-host init-secrets --data ${dataDir}\`.`);
    }
    Object.assign(result, spec.fields(spec.parse(text, { dataDir, label: spec.label, path, placeholders })));
  }
  return result as unknown as InfraSecrets;
}

/** Adds a fresh active key to an existing keyring, keeping the old keys for values sealed with them. */
function addActiveEncryptionKey(dataDir: string, placeholderRoot?: string): void {
  const path = encryptionKeysPath(dataDir);
  const text = readPrivateFile(path, encryptionKeysFile.label);
  if (text === undefined) {
    writePrivateFile(path, encryptionKeysFile.generate());
    return;
  }
  let current: EncryptionKeys;
  try {
    current = encryptionKeysFile.parse(text, { dataDir, label: encryptionKeysFile.label, path, placeholders: publishedPlaceholders(placeholderRoot) });
  } catch {
    // The old keyring is unusable (start refuses it): set it aside rather than lose it, start afresh.
    writePrivateFile(`${path}.replaced-${Date.now()}`, text);
    writePrivateFile(path, encryptionKeysFile.generate(), true);
    return;
  }
  const { id, key } = newEncryptionKey();
  writePrivateFile(path, serializeEncryptionKeys({ activeKeyId: id, keys: { ...current.keys, [id]: key } }), true);
}

/**
 * Creates every missing secret (never touching an existing one unless `overwrite`), then loads
 * and checks them all. Reports what it created.
 */
export function initInfraSecrets(dataDir: string, options: InfraSecretOptions): InitSecretsReport {
  const specs = specsFor(options.profile);
  ensurePrivateDir(secretsDir(dataDir));
  const created: string[] = [];
  const kept: string[] = [];
  const hasData = existsSync(join(dataDir, 'store'));
  for (const spec of specs) {
    const path = join(secretsDir(dataDir), spec.file);
    if (spec.guardsData && hasData && !options.overwrite && !existsSync(path)) {
      throw new AlgaError(
        'E_SECRET_MISSING',
        `The ${spec.label} (${path}) is missing, but this data folder already holds data that depends on it; restore the file from a backup, or run \`alga-host init-secrets --data ${dataDir} --force\` to make a new one (anything that needed the lost one stays unusable).`,
      );
    }
    if (options.overwrite && spec === encryptionKeysFile) {
      addActiveEncryptionKey(dataDir, options.placeholderRoot);
      created.push(spec.label);
    } else if (writePrivateFile(path, spec.generate(), options.overwrite ?? false)) {
      created.push(spec.label);
    } else {
      kept.push(spec.label);
    }
  }
  const secrets = loadInfraSecrets(dataDir, options);
  return { secrets, created, kept };
}

/** Ensures the infra secrets exist and are sound; the first step of every way the host starts. */
export function ensureInfraSecrets(dataDir: string, options: InfraSecretOptions): InfraSecrets {
  return initInfraSecrets(dataDir, options).secrets;
}
