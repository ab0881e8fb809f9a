import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import nacl from 'tweetnacl';
import { AlgaError } from '../errors/index.ts';
import { keyIdOf } from './keys.ts';

/** The keys (and Sigstore identities) whose signatures a host or runner accepts. */
export interface TrustBundle {
  version: 1;
  keys: TrustedKey[];
  sigstore?: SigstoreTrust;
}

export interface TrustedKey {
  keyId: string;
  publisher: string;
  /** base64 Ed25519 public key (32 bytes). */
  publicKey: string;
}

export interface SigstoreTrust {
  /** A Sigstore trusted_root.json; absent means the public-good instance. */
  trustedRoot?: unknown;
  /** Certificate identities (SAN + OIDC issuer) trusted to sign for a publisher. */
  identities?: { identity: string; issuer: string; publisher: string }[];
  /** Managed keys (PEM) trusted to sign for a publisher. */
  keys?: { publicKey: string; publisher: string }[];
}

/**
 * Reads a trust bundle given as a file path, inline JSON text (SIGNING_TRUST_BUNDLE may be
 * either) or an already-parsed object. A `sigstore.trustedRoot` string is a path relative to the file.
 */
export function loadTrustBundle(value: string | object): TrustBundle {
  if (typeof value === 'object') return parseTrustBundle(value, process.cwd());
  const text = value.trim();
  if (text.startsWith('{')) return parseTrustBundle(parseJson(text, 'inline trust bundle'), process.cwd());
  let fileText: string;
  try {
    fileText = readFileSync(text, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new AlgaError('E_TRUST_BUNDLE_INVALID', missingTrustFileHint(text));
    throw new AlgaError('E_TRUST_BUNDLE_INVALID', `Cannot read ${text}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
  return parseTrustBundle(parseJson(fileText, text), dirname(resolve(text)));
}

/** What to say when a trust file does not exist: how to make one. */
export function missingTrustFileHint(path: string): string {
  return `${path} does not exist. Make it with \`alga-ext keygen -o <key file> --trust ${path}\` (writes the new key's entry into it, creating the file), ` +
    'or on a host with `alga-host trust add --publisher <publisher> --public-key <key>`.';
}

export function parseTrustBundle(value: unknown, baseDir: string = process.cwd()): TrustBundle {
  const bundle = value as Partial<TrustBundle> | null;
  const fail = (detail: string): never => {
    throw new AlgaError('E_TRUST_BUNDLE_INVALID', detail);
  };
  if (!bundle || typeof bundle !== 'object') fail('It must be a JSON object.');
  if (bundle!.version !== 1) fail('/version: must be 1.');
  const keys = bundle!.keys ?? [];
  if (!Array.isArray(keys)) fail('/keys: must be an array.');
  keys.forEach((key, index) => {
    if (!key || typeof key.publisher !== 'string' || key.publisher === '') fail(`/keys/${index}/publisher: is required.`);
    const raw = typeof key.publicKey === 'string' ? Buffer.from(key.publicKey, 'base64') : Buffer.alloc(0);
    if (raw.length !== nacl.sign.publicKeyLength || raw.toString('base64') !== key.publicKey) {
      fail(`/keys/${index}/publicKey: must be a base64 Ed25519 public key (32 bytes).`);
    }
    if (key.keyId !== keyIdOf(raw)) fail(`/keys/${index}/keyId: must be ${keyIdOf(raw)} (derived from the public key).`);
  });
  const result: TrustBundle = { version: 1, keys: keys.map(({ keyId, publisher, publicKey }) => ({ keyId, publisher, publicKey })) };
  if (bundle!.sigstore !== undefined) result.sigstore = parseSigstoreTrust(bundle!.sigstore, baseDir, fail);
  return result;
}

function parseSigstoreTrust(value: unknown, baseDir: string, fail: (detail: string) => never): SigstoreTrust {
  const trust = value as SigstoreTrust | null;
  if (!trust || typeof trust !== 'object') fail('/sigstore: must be an object.');
  const result: SigstoreTrust = {};
  if (typeof trust!.trustedRoot === 'string') {
    result.trustedRoot = parseJson(readTextOrFail(resolve(baseDir, trust!.trustedRoot), fail), trust!.trustedRoot);
  } else if (trust!.trustedRoot !== undefined) {
    if (typeof trust!.trustedRoot !== 'object' || trust!.trustedRoot === null) fail('/sigstore/trustedRoot: must be an object or a path.');
    result.trustedRoot = trust!.trustedRoot;
  }
  const identities = trust!.identities ?? [];
  if (!Array.isArray(identities)) fail('/sigstore/identities: must be an array.');
  identities.forEach((entry, index) => {
    for (const field of ['identity', 'issuer', 'publisher'] as const) {
      if (!entry || typeof entry[field] !== 'string' || entry[field] === '') fail(`/sigstore/identities/${index}/${field}: is required.`);
    }
  });
  const keys = trust!.keys ?? [];
  if (!Array.isArray(keys)) fail('/sigstore/keys: must be an array.');
  keys.forEach((entry, index) => {
    if (!entry || typeof entry.publicKey !== 'string' || !entry.publicKey.includes('BEGIN PUBLIC KEY')) {
      fail(`/sigstore/keys/${index}/publicKey: must be a PEM public key.`);
    }
    if (typeof entry.publisher !== 'string' || entry.publisher === '') fail(`/sigstore/keys/${index}/publisher: is required.`);
  });
  result.identities = identities.map(({ identity, issuer, publisher }) => ({ identity, issuer, publisher }));
  result.keys = keys.map(({ publicKey, publisher }) => ({ publicKey, publisher }));
  return result;
}

function readTextOrFail(path: string, fail: (detail: string) => never): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    return fail(`/sigstore/trustedRoot: cannot read ${path} (${(error as NodeJS.ErrnoException).code}).`);
  }
}

function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AlgaError('E_TRUST_BUNDLE_INVALID', `${label} is not JSON: ${(error as Error).message}`);
  }
}

/** A trust bundle file's JSON as written, so edits keep its other fields (e.g. a sigstore root path) as they are. */
export type TrustBundleDocument = { version: 1; keys: TrustedKey[] } & Record<string, unknown>;

/** The document with `key` trusted, replacing any entry with the same key id; checked as a whole. */
export function withTrustedKey(document: TrustBundleDocument, key: TrustedKey, baseDir: string): TrustBundleDocument {
  const next = { ...document, keys: [...document.keys.filter((existing) => existing.keyId !== key.keyId), { keyId: key.keyId, publisher: key.publisher, publicKey: key.publicKey }] };
  parseTrustBundle(next, baseDir);
  return next;
}

/** The document without the key `keyId`; refuses an unknown key id. */
export function withoutTrustedKey(document: TrustBundleDocument, keyId: string): TrustBundleDocument {
  if (!document.keys.some((key) => key.keyId === keyId)) throw new AlgaError('E_TRUST_BUNDLE_INVALID', `It has no key ${keyId}.`);
  return { ...document, keys: document.keys.filter((key) => key.keyId !== keyId) };
}
