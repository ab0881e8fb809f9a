import { randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * A keyring: several keys of one kind, each with a key id, one of them active (it signs or seals
 * new things); the others only verify or open what they made before a rotation. On disk it is
 *
 *   { "activeKeyId": "sk-20260101-9f2c4a",
 *     "keys": { "<keyId>": <key> , … },
 *     "inactiveSince": { "<keyId>": "<ISO time it stopped being active>" },
 *     "endorsements": { "<keyId>": "<compact JWS by the key active before it>" } }
 *
 * (the last two only where they apply). A file that holds a single key may also be that key's
 * bare form, as written by `init-secrets`; it reads as a keyring of one.
 */

export interface KeyringEntry<K> {
  keyId: string;
  key: K;
  /** When it stopped being the active key (a rotation); undefined for the active key. */
  inactiveSince?: string;
  /** License signing keys: the previous key's signature over this one (see license/key-endorsement.ts). */
  endorsement?: string;
}

export interface Keyring<K> {
  activeKeyId: string;
  /** The active key first, then the others newest first. */
  entries: KeyringEntry<K>[];
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function activeEntry<K>(ring: Keyring<K>): KeyringEntry<K> {
  return ring.entries[0];
}

export function singleKeyring<K>(keyId: string, key: K): Keyring<K> {
  return { activeKeyId: keyId, entries: [{ keyId, key }] };
}

/** A fresh key id with a prefix naming the kind, the day it was made and random hex: `sk-20261123-9f2c4a`. */
export function newPrefixedKeyId(prefix: string, now = new Date()): string {
  return `${prefix}-${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
}

export function isKeyringDocument(json: Record<string, unknown>): boolean {
  return typeof json.activeKeyId === 'string' && !!json.keys && typeof json.keys === 'object' && !Array.isArray(json.keys);
}

function textMap(value: unknown, what: string, where: string): Record<string, string> {
  if (value === undefined) return {};
  if (!value || typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((item) => typeof item !== 'string')) {
    throw new AlgaError('E_SECRET_INVALID', `${where}: "${what}" must map key ids to text.`);
  }
  return value as Record<string, string>;
}

/** Reads the keyring document; `parseKey` checks one key and names it in its errors. */
export function parseKeyringDocument<K>(json: Record<string, unknown>, where: string, parseKey: (value: unknown, keyId: string) => K): Keyring<K> {
  const activeKeyId = json.activeKeyId as string;
  const keys = json.keys as Record<string, unknown>;
  const inactiveSince = textMap(json.inactiveSince, 'inactiveSince', where);
  const endorsements = textMap(json.endorsements, 'endorsements', where);
  const entries: KeyringEntry<K>[] = [];
  for (const [keyId, value] of Object.entries(keys)) {
    if (!KEY_ID.test(keyId)) throw new AlgaError('E_SECRET_INVALID', `${where} has an invalid key id "${keyId}".`);
    entries.push({
      keyId,
      key: parseKey(value, keyId),
      ...(keyId !== activeKeyId && inactiveSince[keyId] ? { inactiveSince: inactiveSince[keyId] } : {}),
      ...(endorsements[keyId] ? { endorsement: endorsements[keyId] } : {}),
    });
  }
  const active = entries.find((entry) => entry.keyId === activeKeyId);
  if (!active) throw new AlgaError('E_SECRET_INVALID', `${where} names active key ${activeKeyId}, which it does not contain.`);
  const others = entries.filter((entry) => entry !== active).sort((a, b) => (b.inactiveSince ?? '').localeCompare(a.inactiveSince ?? ''));
  return { activeKeyId, entries: [active, ...others] };
}

export function serializeKeyring<K>(ring: Keyring<K>, encodeKey: (key: K) => unknown): string {
  const inactiveSince = Object.fromEntries(ring.entries.filter((entry) => entry.inactiveSince).map((entry) => [entry.keyId, entry.inactiveSince!]));
  const endorsements = Object.fromEntries(ring.entries.filter((entry) => entry.endorsement).map((entry) => [entry.keyId, entry.endorsement!]));
  const document: Record<string, unknown> = {
    activeKeyId: ring.activeKeyId,
    keys: Object.fromEntries(ring.entries.map((entry) => [entry.keyId, encodeKey(entry.key)])),
    ...(Object.keys(inactiveSince).length ? { inactiveSince } : {}),
    ...(Object.keys(endorsements).length ? { endorsements } : {}),
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** The keyring with `entry` as its new active key; the old active key is kept, inactive since `now`. */
export function withNewActiveKey<K>(ring: Keyring<K>, entry: KeyringEntry<K>, now = new Date()): Keyring<K> {
  const [previous, ...rest] = ring.entries;
  return { activeKeyId: entry.keyId, entries: [entry, { ...previous, inactiveSince: now.toISOString() }, ...rest] };
}

/** The keyring without `keyId`; the active key cannot be retired. */
export function withoutKey<K>(ring: Keyring<K>, keyId: string, label: string): Keyring<K> {
  if (!ring.entries.some((entry) => entry.keyId === keyId)) throw new AlgaError('E_SECRET_UNKNOWN_KEY', `Key id ${keyId} is not in the ${label} keyring.`);
  if (keyId === ring.activeKeyId) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} is the active ${label}; rotate first.`);
  return { activeKeyId: ring.activeKeyId, entries: ring.entries.filter((entry) => entry.keyId !== keyId) };
}
