import type { Database, RootDatabase } from 'lmdb';
import { openPrivateLmdb } from '../../lib/private-lmdb.ts';
import { retiredInstallMemoryMs, retiredInstallRefusal, type CommitSink, type Decision, type Namespace, type NamespaceState, type StorageEngine, type StoredValue, type Write } from './engine.ts';

/**
 * The embedded storage engine: one LMDB environment (folder 0700, files 0600). Keys are
 * `tenant NUL extension NUL key` in three databases: `values` (the bytes), `versions` (the
 * version of each key's last write; absent for values written before versions existed) and
 * `usage` (per namespace: key count, bytes, last version); a fourth, `retired`, is keyed
 * `tenant NUL extension NUL install` (installs a purge retired). Updates run in lmdb-js's
 * asynchronous transactions: the callback runs inside LMDB's single write transaction and the
 * commit happens off the main thread; the promise resolves once the commit is visible
 * (`separateFlushed`) — or, given a `committing` sink, once the callback has decided, handing the
 * commit to the sink — and `durable()` once it is flushed (lmdb-js's overlapping sync flushes
 * while later transactions go on, keeping the file consistent after an OS crash).
 */

const separator = '\u0000';

export interface LmdbStorageEngine extends StorageEngine {
  readonly root: RootDatabase;
  /**
   * Moves this thread's reads to the latest commit. lmdb-js renews its read snapshot on each
   * event-loop turn; a guest worker runs a whole request in one turn, so it renews explicitly.
   */
  renewReads(): void;
}

type Outcome<T> = { ok: true; result: T } | { ok: false; error: unknown };

export function namespacePrefix(namespace: Namespace): string {
  return `${namespace.tenantId}${separator}${namespace.extensionId}${separator}`;
}

export interface LmdbStorageEngineOptions {
  path: string;
}

export function openLmdbStorageEngine(options: LmdbStorageEngineOptions): LmdbStorageEngine {
  const root = openPrivateLmdb({ path: options.path, compression: false, separateFlushed: true });
  const values: Database<Buffer, string> = root.openDB({ name: 'values', encoding: 'binary' });
  const versions: Database<number, string> = root.openDB({ name: 'versions', encoding: 'msgpack' });
  const usage: Database<Partial<NamespaceState>, string> = root.openDB({ name: 'usage', encoding: 'msgpack' });
  /** `tenant NUL extension NUL install` → when a purge retired the install (ms since the epoch). */
  const retired: Database<number, string> = root.openDB({ name: 'retired', encoding: 'msgpack' });

  const readStored = (fullKey: string): StoredValue | undefined => {
    const value = values.get(fullKey);
    return value === undefined ? undefined : { value: new Uint8Array(value), version: versions.get(fullKey) ?? 0 };
  };

  const readState = (prefix: string): NamespaceState => {
    const state = usage.get(prefix);
    return { keys: state?.keys ?? 0, bytes: state?.bytes ?? 0, lastVersion: state?.lastVersion ?? 0 };
  };

  const apply = (prefix: string, writes: Write[], state: NamespaceState): void => {
    for (const write of writes) {
      const fullKey = prefix + write.key;
      if ('remove' in write) {
        values.removeSync(fullKey);
        versions.removeSync(fullKey);
      } else {
        values.putSync(fullKey, Buffer.from(write.value.buffer, write.value.byteOffset, write.value.byteLength));
        versions.putSync(fullKey, write.version);
      }
    }
    usage.putSync(prefix, state);
  };

  return {
    root,
    workerReadPath: options.path,
    read: (namespace, key) => readStored(namespacePrefix(namespace) + key),

    list(namespace, prefix, after, limit) {
      const base = namespacePrefix(namespace);
      const entries: Array<{ key: string; value: Uint8Array }> = [];
      for (const { key, value } of values.getRange({ start: base + (after !== undefined && after > prefix ? after : prefix) })) {
        if (!key.startsWith(base + prefix)) break;
        const name = key.slice(base.length);
        if (after !== undefined && name <= after) continue;
        entries.push({ key: name, value: new Uint8Array(value) });
        if (entries.length === limit) break;
      }
      return entries;
    },

    async update<T>(namespace: Namespace, keys: readonly string[], decide: (current: ReadonlyMap<string, StoredValue>, state: NamespaceState) => Decision<T>, committing?: CommitSink): Promise<T> {
      const prefix = namespacePrefix(namespace);
      let decided: ((outcome: Outcome<T>) => void) | undefined;
      const outcomeDecided = committing && new Promise<Outcome<T>>((resolve) => (decided = resolve));
      const commit = root.transaction((): Outcome<T> => {
        if (namespace.installId !== undefined && retired.get(prefix + namespace.installId) !== undefined) {
          const refused: Outcome<T> = { ok: false, error: retiredInstallRefusal() };
          decided?.(refused);
          return refused;
        }
        const current = new Map<string, StoredValue>();
        for (const key of keys) {
          const stored = readStored(prefix + key);
          if (stored) current.set(key, stored);
        }
        let decision: Decision<T>;
        try {
          decision = decide(current, readState(prefix));
        } catch (error) {
          const refused: Outcome<T> = { ok: false, error }; // nothing was written in this callback yet
          decided?.(refused);
          return refused;
        }
        if (decision.writes.length > 0) apply(prefix, decision.writes, decision.state); // a failure here fails the commit
        const outcome: Outcome<T> = { ok: true, result: decision.result };
        decided?.(outcome);
        return outcome;
      });
      let outcome: Outcome<T>;
      if (outcomeDecided) {
        // The callback runs inside LMDB's write transaction, well before the commit (and its flush) is done.
        outcome = await Promise.race([outcomeDecided, commit]);
        const visible = commit.then(() => undefined);
        visible.catch(() => {}); // its failure is the caller's to see, when it waits for it
        committing!(visible);
      } else outcome = await commit;
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    },

    async purge(namespace, retireInstall) {
      const prefix = namespacePrefix(namespace);
      return root.transaction(() => {
        const keysOf = (database: Database<unknown, string>) => {
          const found: string[] = [];
          for (const key of database.getKeys({ start: prefix })) {
            if (!key.startsWith(prefix)) break;
            found.push(key);
          }
          return found;
        };
        const valueKeys = keysOf(values);
        for (const key of valueKeys) values.removeSync(key);
        for (const key of keysOf(versions)) versions.removeSync(key);
        // The counts start over; the last version stays, so no version is ever handed out twice
        // in a namespace (a compare-and-set holding a version from before cannot match a new write).
        const { lastVersion } = readState(prefix);
        if (lastVersion > 0) usage.putSync(prefix, { keys: 0, bytes: 0, lastVersion });
        else usage.removeSync(prefix);
        const now = Date.now();
        for (const { key, value } of retired.getRange({ start: prefix })) {
          if (!key.startsWith(prefix)) break;
          if (now - value > retiredInstallMemoryMs) retired.removeSync(key);
        }
        if (retireInstall !== undefined) retired.putSync(prefix + retireInstall, now);
        return valueKeys.length;
      });
    },

    durable: async () => {
      await root.flushed;
    },

    renewReads: () => root.resetReadTxn(),
    close: () => root.close(),
  };
}
