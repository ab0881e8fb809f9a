import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AlgaError } from '../../../lib/errors/index.ts';
import { isSealedEnvelope, openSecretsWithAny, recipientId, sealSecrets } from '../../../lib/sealed-secrets.ts';
import { writeRunnerSecretKeys } from '../runner/child.ts';
import { openStore, type HostStore } from '../store.ts';
import { newRunnerKeyPair, runnerKeyPairFile, type RunnerKeyPair } from './infra-secret-files.ts';
import { readKeyringFile, retireKeyringKey, writeKeyringFile } from './key-rotation.ts';
import { activeEntry, newPrefixedKeyId, withNewActiveKey, type Keyring } from './keyring.ts';
import { valuesOutsideFolder } from './store-location.ts';
import { listStoreDatabases } from './store-values.ts';

/**
 * `alga-host rotate-key runner-envelope`, with the host running or not:
 *
 * 1. a new runner key pair joins the keyring; the local runner's key file gets every secret key
 *    (new first), so the runner opens envelopes sealed to either (it re-reads the file when it
 *    meets a key it lacks);
 * 2. the new key becomes active in `runner-keypair.json`: a running host reloads it and seals new
 *    install secrets to it;
 * 3. every sealed envelope in the store is opened with the old key and sealed to the new one,
 *    record by record, each in its own transaction that re-reads the record (a concurrent change
 *    to the install wins, and the next pass re-seals it).
 *
 * The old key stays in the keyring until `--retire`, which refuses while any stored envelope is
 * still sealed to it. Runners elsewhere (RUNNER_BASE_URL) need the new key in their
 * RUNNER_SECRET_KEY_FILE before step 3: `--stage` does steps 1 and 2 without re-sealing.
 */

export interface RunnerKeyRotation {
  newKeyId: string;
  kept: string[];
  resealed: number;
  /** Envelopes still sealed to an old key after the passes (a concurrent write; run it again). */
  remaining: number;
  /** Envelopes no key in the keyring opens (reported, left as they are). */
  unreadable: Array<{ database: string; key: string }>;
  /** Whether this data folder has a local runner whose key file was updated. */
  localRunner: boolean;
  /** Set when the envelopes are not in this folder's store (store-location.ts): nothing was re-sealed. */
  valuesElsewhere?: string;
}

const encode = (pair: RunnerKeyPair) => pair;
const describeKey = (key: unknown) => (typeof key === 'string' ? key : JSON.stringify(key));

interface EnvelopeWalk {
  resealed: number;
  unreadable: number;
}

/** Re-seals every envelope in a stored value that is not sealed to the active key. */
function resealValue(value: unknown, ring: Keyring<RunnerKeyPair>, walk: EnvelopeWalk): unknown {
  const active = activeEntry(ring).key;
  const activeRecipient = recipientId(active.publicKey);
  if (isSealedEnvelope(value)) {
    if (value.recipient === activeRecipient) return value;
    try {
      const secrets = openSecretsWithAny(value, ring.entries.map((entry) => entry.key.secretKey));
      walk.resealed++;
      return sealSecrets(secrets, active.publicKey);
    } catch {
      walk.unreadable++;
      return value;
    }
  }
  if (Array.isArray(value)) return value.map((item) => resealValue(item, ring, walk));
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resealValue(item, ring, walk)]));
  }
  return value;
}

function containsEnvelope(value: unknown): boolean {
  if (isSealedEnvelope(value)) return true;
  if (Array.isArray(value)) return value.some(containsEnvelope);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) return Object.values(value).some(containsEnvelope);
  return false;
}

/** One pass over the store: how many envelopes were re-sealed, which could not be opened. */
function resealPass(store: HostStore, databases: string[], ring: Keyring<RunnerKeyPair>): { resealed: number; unreadable: Array<{ database: string; key: string }> } {
  let resealed = 0;
  const unreadable: Array<{ database: string; key: string }> = [];
  for (const database of databases) {
    const db = store.db(database);
    let keys: unknown[];
    try {
      keys = [...db.getKeys({})];
    } catch {
      continue; // not a database of host records
    }
    for (const recordKey of keys) {
      let current: unknown;
      try {
        current = db.get(recordKey as never);
      } catch {
        continue;
      }
      if (!containsEnvelope(current)) continue;
      store.transaction(() => {
        const fresh = db.get(recordKey as never);
        const walk: EnvelopeWalk = { resealed: 0, unreadable: 0 };
        const next = resealValue(fresh, ring, walk);
        if (walk.unreadable > 0) unreadable.push({ database, key: describeKey(recordKey) });
        if (walk.resealed > 0) {
          db.putSync(recordKey as never, next);
          resealed += walk.resealed;
        }
      });
    }
  }
  return { resealed, unreadable };
}

/** Envelopes in the store sealed to `keyId` (by recipient, or by trying the key on those that name none). */
function envelopesUsing(store: HostStore, databases: string[], ring: Keyring<RunnerKeyPair>, keyId: string): number {
  const entry = ring.entries.find((candidate) => candidate.keyId === keyId);
  if (!entry) return 0;
  const recipient = recipientId(entry.key.publicKey);
  let count = 0;
  const visit = (value: unknown): void => {
    if (isSealedEnvelope(value)) {
      if (value.recipient === recipient) count++;
      else if (value.recipient === undefined) {
        try {
          openSecretsWithAny(value, [entry.key.secretKey]);
          count++;
        } catch {
          // sealed to another key
        }
      }
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) Object.values(value).forEach(visit);
  };
  for (const database of databases) {
    try {
      for (const { value } of store.db(database).getRange({})) visit(value);
    } catch {
      // not a database of host records
    }
  }
  return count;
}

function hasLocalRunner(dataDir: string): boolean {
  return existsSync(join(dataDir, 'run'));
}

function updateLocalRunner(dataDir: string, ring: Keyring<RunnerKeyPair>): boolean {
  if (!hasLocalRunner(dataDir)) return false;
  writeRunnerSecretKeys(dataDir, ring.entries.map((entry) => entry.key.secretKey));
  return true;
}

/** Runs `action` on the data folder's store; `empty` is the answer for a folder with no store yet. */
async function withStore<T>(dataDir: string, empty: T, action: (store: HostStore, databases: string[]) => T | Promise<T>): Promise<T> {
  if (!existsSync(join(dataDir, 'store'))) return empty;
  const databases = listStoreDatabases(dataDir);
  const store = openStore(dataDir);
  try {
    return await action(store, databases);
  } finally {
    await store.close();
  }
}

export async function rotateRunnerKey(dataDir: string, options: { stage?: boolean; passes?: number; pauseMs?: number } = {}): Promise<RunnerKeyRotation> {
  const current = readKeyringFile(dataDir, runnerKeyPairFile);
  const ring = withNewActiveKey(current, { keyId: newPrefixedKeyId('rk'), key: newRunnerKeyPair() });
  // The runner learns the new key before anything is sealed to it.
  const localRunner = updateLocalRunner(dataDir, ring);
  writeKeyringFile(dataDir, runnerKeyPairFile, ring, encode);
  const report: RunnerKeyRotation = { newKeyId: ring.activeKeyId, kept: ring.entries.slice(1).map((entry) => entry.keyId), resealed: 0, remaining: 0, unreadable: [], localRunner, valuesElsewhere: valuesOutsideFolder(dataDir) };
  if (options.stage || report.valuesElsewhere) return report;
  return withStore(dataDir, report, async (store, databases) => {
    const passes = options.passes ?? 3;
    for (let pass = 0; pass < passes; pass++) {
      const { resealed, unreadable } = resealPass(store, databases, ring);
      report.resealed += resealed;
      report.unreadable = unreadable;
      report.remaining = ring.entries.slice(1).reduce((sum, entry) => sum + envelopesUsing(store, databases, ring, entry.keyId), 0);
      if (report.remaining === 0) break;
      // A running host may have sealed to the old key before it reloaded the keyring: look again shortly.
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 1000));
    }
    return report;
  });
}

/** Re-seals what is left on old keys (after `--stage`, or a rotation that reported `remaining`). */
export async function resealToActiveRunnerKey(dataDir: string): Promise<{ resealed: number; unreadable: Array<{ database: string; key: string }> }> {
  const ring = readKeyringFile(dataDir, runnerKeyPairFile);
  const valuesElsewhere = valuesOutsideFolder(dataDir);
  if (valuesElsewhere) throw new AlgaError('E_KEY_ROTATION_INCOMPLETE', `Nothing was re-sealed: ${valuesElsewhere}. Keep the earlier runner keys.`);
  return withStore(dataDir, { resealed: 0, unreadable: [] }, (store, databases) => resealPass(store, databases, ring));
}

export async function retireRunnerKey(dataDir: string, keyId: string): Promise<void> {
  const ring = readKeyringFile(dataDir, runnerKeyPairFile);
  if (!ring.entries.some((entry) => entry.keyId === keyId)) throw new AlgaError('E_SECRET_UNKNOWN_KEY', `Key id ${keyId} is not in the runner key pair keyring.`);
  const valuesElsewhere = valuesOutsideFolder(dataDir);
  if (valuesElsewhere) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} may still open secret envelopes this command cannot see: ${valuesElsewhere}. It was kept.`);
  const inUse = await withStore(dataDir, 0, (store, databases) => envelopesUsing(store, databases, ring, keyId));
  if (inUse > 0) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} still opens ${inUse} stored secret envelope(s); run \`alga-host rotate-key runner-envelope --reseal\` first.`);
  const retired = retireKeyringKey(dataDir, runnerKeyPairFile, keyId, encode);
  updateLocalRunner(dataDir, retired);
}
