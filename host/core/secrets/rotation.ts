import { AlgaError } from '../../../lib/errors/index.ts';
import { encryptionKeysPath } from '../infra-secrets.ts';
import { openStore, type HostStore } from '../store.ts';
import type { EncryptionKeys } from './encryption.ts';
import { readPrivateFile, writePrivateFile } from './files.ts';
import { encryptionKeysFile, newEncryptionKey, serializeEncryptionKeys } from './infra-secret-files.ts';
import { publishedPlaceholders } from './placeholders.ts';
import { countKeyIds, reencryptValue } from './reencrypt.ts';
import { valuesOutsideFolder } from './store-location.ts';
import { listStoreDatabases, otherProcessesUsingStore, storeRecords } from './store-values.ts';

/**
 * `rotate-key encryption`: a new active key, every stored value re-encrypted under it, and the
 * old keys retired once nothing uses them. The keyring is written before any value changes, so
 * an interrupted rotation leaves every value readable.
 */

export interface UndecryptableValue {
  database: string;
  key: string;
  path: string;
  keyId: string;
  reason: string;
}

export interface RotationReport {
  newKeyId: string;
  reencrypted: number;
  failures: UndecryptableValue[];
  retired: string[];
  /** Old key ids kept because stored values still use them (or --keep-old, or the values are elsewhere). */
  kept: string[];
  /** Set when the values are not in this folder's store (store-location.ts): nothing was re-encrypted. */
  valuesElsewhere?: string;
}

export function readKeyring(dataDir: string): EncryptionKeys {
  const path = encryptionKeysPath(dataDir);
  const text = readPrivateFile(path, encryptionKeysFile.label);
  if (text === undefined) throw new AlgaError('E_SECRET_MISSING', `The encryption key (${path}) does not exist; create it with \`alga-host init-secrets --data ${dataDir}\`.`);
  return encryptionKeysFile.parse(text, { dataDir, label: encryptionKeysFile.label, path, placeholders: publishedPlaceholders() });
}

function writeKeyring(dataDir: string, keyring: EncryptionKeys): void {
  writePrivateFile(encryptionKeysPath(dataDir), serializeEncryptionKeys(keyring), true);
}

const describeKey = (key: unknown) => (typeof key === 'string' ? key : JSON.stringify(key));

/** How many stored values use each key id, with a few example locations. */
export function keyUsage(store: HostStore, databases: string[]): Map<string, { count: number; examples: string[] }> {
  const usage = new Map<string, { count: number; examples: string[] }>();
  for (const record of storeRecords(store, databases)) {
    for (const [keyId, count] of countKeyIds(record.value)) {
      const entry = usage.get(keyId) ?? { count: 0, examples: [] };
      entry.count += count;
      if (entry.examples.length < 3) entry.examples.push(`${record.database}/${describeKey(record.key)}`);
      usage.set(keyId, entry);
    }
  }
  return usage;
}

/** Rotation rewrites values a running host would keep sealing under its in-memory keys: refuse while one runs. */
export function refuseWhileHostRuns(dataDir: string): void {
  const pids = otherProcessesUsingStore(dataDir);
  if (pids.length) throw new AlgaError('E_STORE_IN_USE', `Process ${pids.join(', ')} has ${dataDir}/store open.`);
}

function withStore<T>(dataDir: string, action: (store: HostStore, databases: string[]) => T): Promise<T> {
  const databases = listStoreDatabases(dataDir);
  const store = openStore(dataDir);
  let result: T;
  try {
    result = action(store, databases);
  } catch (error) {
    return store.close().then(() => Promise.reject(error));
  }
  return store.close().then(() => result);
}

export async function rotateEncryptionKey(dataDir: string, options: { keepOld?: boolean } = {}): Promise<RotationReport> {
  refuseWhileHostRuns(dataDir);
  const current = readKeyring(dataDir);
  const { id: newKeyId, key } = newEncryptionKey();
  const keyring: EncryptionKeys = { activeKeyId: newKeyId, keys: { ...current.keys, [newKeyId]: key } };
  writeKeyring(dataDir, keyring);
  const valuesElsewhere = valuesOutsideFolder(dataDir);
  if (valuesElsewhere) return { newKeyId, reencrypted: 0, failures: [], retired: [], kept: Object.keys(current.keys), valuesElsewhere };

  return withStore(dataDir, (store, databases) => {
    const failures: UndecryptableValue[] = [];
    let reencrypted = 0;
    const readable: string[] = [];
    for (const database of databases) {
      const db = store.db(database);
      let keys: unknown[];
      try {
        keys = [...db.getKeys({})];
        for (const recordKey of keys) db.get(recordKey as never);
      } catch (error) {
        failures.push({ database, key: '*', path: '$', keyId: '?', reason: `The database could not be read as host records: ${(error as Error).message}` });
        continue;
      }
      readable.push(database);
      for (const recordKey of keys) {
        store.transaction(() => {
          const value = db.get(recordKey as never);
          const result = reencryptValue(value, keyring);
          for (const failure of result.failures) failures.push({ database, key: describeKey(recordKey), ...failure });
          if (result.changed > 0) {
            db.putSync(recordKey as never, result.value);
            reencrypted += result.changed;
          }
        });
      }
    }
    const unreadable = databases.length !== readable.length;
    const usage = keyUsage(store, readable);
    const retired: string[] = [];
    const kept: string[] = [];
    for (const keyId of Object.keys(current.keys)) {
      if (options.keepOld || unreadable || usage.has(keyId)) kept.push(keyId);
      else retired.push(keyId);
    }
    for (const keyId of retired) delete keyring.keys[keyId];
    writeKeyring(dataDir, keyring);
    return { newKeyId, reencrypted, failures, retired, kept };
  });
}

/** Removes one key from the keyring; refuses the active key and any key a stored value still uses. */
export async function retireEncryptionKey(dataDir: string, keyId: string): Promise<void> {
  const keyring = readKeyring(dataDir);
  if (!keyring.keys[keyId]) throw new AlgaError('E_SECRET_UNKNOWN_KEY', `Key id ${keyId} is not in the keyring.`);
  if (keyId === keyring.activeKeyId) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} is the active key; rotate first (\`alga-host rotate-key encryption\`).`);
  const valuesElsewhere = valuesOutsideFolder(dataDir);
  if (valuesElsewhere) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} may still seal values this command cannot see: ${valuesElsewhere}. It was kept.`);
  refuseWhileHostRuns(dataDir);
  await withStore(dataDir, (store, databases) => {
    const use = keyUsage(store, databases).get(keyId);
    if (use) throw new AlgaError('E_KEY_IN_USE', `Key ${keyId} still seals ${use.count} stored value(s), e.g. ${use.examples.join(', ')}.`);
    delete keyring.keys[keyId];
    writeKeyring(dataDir, keyring);
  });
}
