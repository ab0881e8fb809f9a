import { isConnectionError } from '../../lib/postgres/connection.ts';
import { HostError } from '../capabilities/factor.ts';
import type { PoolClient } from 'pg';
import type { RunnerDatabase } from '../fleet/database.ts';
import { retiredInstallMemoryMs, retiredInstallRefusal, type Decision, type Namespace, type NamespaceState, type StorageEngine, type StoredValue } from './engine.ts';

/**
 * The fleet's storage engine: `alga.storage` in PostgreSQL (RUNNER_DATABASE_URL), so every runner
 * serves every tenant from the same data. Values and versions in `alga_ext_storage`, each
 * namespace's key count, bytes and last version in `alga_ext_storage_state`, installs a purge
 * retired in `alga_ext_storage_retired` (lib/postgres/schema.ts). An update locks its
 * namespace's state row (`SELECT … FOR UPDATE`): updates of one tenant's extension are ordered
 * across every runner, `decide` sees the state the previous one left, and its writes and the new
 * state commit in one transaction — durable when it resolves. A database that does not answer is
 * `unavailable` to the guest.
 */

const unavailable = () => new HostError('unavailable', 'The storage database did not answer; retry shortly.');

function bytesOf(value: Buffer): Uint8Array {
  return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
}

/** A namespace's row of `alga_ext_storage_state`, its numbers as PostgreSQL's driver gives them. */
type StateRow = { keys: string; bytes: string; last_version: string };

/**
 * Takes the namespace's state row lock (`FOR UPDATE`, made first if the namespace has none yet),
 * which orders every update and purge of the namespace across runners; the row as locked.
 */
async function lockState(client: PoolClient, ids: string[]): Promise<StateRow> {
  const lock = { name: 'alga-storage-lock', text: 'SELECT keys, bytes, last_version FROM alga_ext_storage_state WHERE tenant_id = $1 AND extension_id = $2 FOR UPDATE', values: ids };
  let locked = await client.query<StateRow>(lock);
  if (locked.rows.length === 0) {
    await client.query({ name: 'alga-storage-state-new', text: 'INSERT INTO alga_ext_storage_state (tenant_id, extension_id, keys, bytes, last_version) VALUES ($1, $2, 0, 0, 0) ON CONFLICT DO NOTHING', values: ids });
    locked = await client.query(lock);
  }
  return locked.rows[0];
}

export function openPostgresStorageEngine(database: RunnerDatabase): StorageEngine {
  const { pool } = database;

  async function guarded<T>(action: () => Promise<T>): Promise<T> {
    try {
      await database.ready();
      return await action();
    } catch (error) {
      if (error instanceof HostError) throw error;
      // Unreachable, or a statement or lock wait past its timeout (57014, 55P03): the guest may retry.
      const code = (error as { code?: string }).code;
      if (isConnectionError(error) || code === 'E_DATABASE_UNREACHABLE' || code === '57014' || code === '55P03') throw unavailable();
      throw error;
    }
  }

  return {
    read: (namespace, key) =>
      guarded(async () => {
        const { rows } = await pool.query<{ value: Buffer; version: string }>({
          name: 'alga-storage-read',
          text: 'SELECT value, version FROM alga_ext_storage WHERE tenant_id = $1 AND extension_id = $2 AND key = $3',
          values: [namespace.tenantId, namespace.extensionId, key],
        });
        return rows[0] ? { value: bytesOf(rows[0].value), version: Number(rows[0].version) } : undefined;
      }),

    list: (namespace, prefix, after, limit) =>
      guarded(async () => {
        const { rows } = await pool.query<{ key: string; value: Buffer }>({
          name: 'alga-storage-list',
          text: `SELECT key, value FROM alga_ext_storage
                 WHERE tenant_id = $1 AND extension_id = $2 AND key >= $3 AND starts_with(key, $3) AND ($4::text IS NULL OR key > $4)
                 ORDER BY key LIMIT $5`,
          values: [namespace.tenantId, namespace.extensionId, prefix, after ?? null, limit],
        });
        return rows.map((row) => ({ key: row.key, value: bytesOf(row.value) }));
      }),

    update: <T>(namespace: Namespace, keys: readonly string[], decide: (current: ReadonlyMap<string, StoredValue>, state: NamespaceState) => Decision<T>) =>
      guarded(async () => {
        const client = await pool.connect();
        let broken = false;
        try {
          await client.query('BEGIN');
          const ids = [namespace.tenantId, namespace.extensionId];
          const locked = await lockState(client, ids);
          // A statement of its own, after the lock: its snapshot sees a purge that held the lock
          // before this update (a subquery of the locking statement would not, in READ COMMITTED).
          if (namespace.installId !== undefined) {
            const retired = await client.query({ name: 'alga-storage-retired', text: 'SELECT 1 FROM alga_ext_storage_retired WHERE tenant_id = $1 AND extension_id = $2 AND install_id = $3', values: [...ids, namespace.installId] });
            if (retired.rows.length > 0) {
              await client.query('ROLLBACK');
              throw retiredInstallRefusal();
            }
          }
          const state: NamespaceState = { keys: Number(locked.keys), bytes: Number(locked.bytes), lastVersion: Number(locked.last_version) };
          const current = new Map<string, StoredValue>();
          if (keys.length > 0) {
            const found = await client.query<{ key: string; value: Buffer; version: string }>({
              name: 'alga-storage-read-many',
              text: 'SELECT key, value, version FROM alga_ext_storage WHERE tenant_id = $1 AND extension_id = $2 AND key = ANY($3::text[])',
              values: [...ids, [...new Set(keys)]],
            });
            for (const row of found.rows) current.set(row.key, { value: bytesOf(row.value), version: Number(row.version) });
          }
          let decision: Decision<T>;
          try {
            decision = decide(current, state);
          } catch (error) {
            await client.query('ROLLBACK');
            throw error;
          }
          if (decision.writes.length > 0) {
            // The last write of a key wins, as when applied one by one.
            const last = new Map(decision.writes.map((write) => [write.key, write]));
            const puts = [...last.values()].filter((write): write is Extract<typeof write, { value: Uint8Array }> => !('remove' in write));
            const removes = [...last.values()].filter((write) => 'remove' in write).map((write) => write.key);
            if (puts.length > 0) {
              await client.query({
                name: 'alga-storage-put',
                text: `INSERT INTO alga_ext_storage (tenant_id, extension_id, key, value, version)
                       SELECT $1, $2, * FROM unnest($3::text[], $4::bytea[], $5::bigint[])
                       ON CONFLICT (tenant_id, extension_id, key) DO UPDATE SET value = EXCLUDED.value, version = EXCLUDED.version`,
                values: [...ids, puts.map((write) => write.key), puts.map((write) => Buffer.from(write.value.buffer, write.value.byteOffset, write.value.byteLength)), puts.map((write) => String(write.version))],
              });
            }
            if (removes.length > 0) {
              await client.query({ name: 'alga-storage-remove', text: 'DELETE FROM alga_ext_storage WHERE tenant_id = $1 AND extension_id = $2 AND key = ANY($3::text[])', values: [...ids, removes] });
            }
            await client.query({
              name: 'alga-storage-state',
              text: 'UPDATE alga_ext_storage_state SET keys = $3, bytes = $4, last_version = $5 WHERE tenant_id = $1 AND extension_id = $2',
              values: [...ids, decision.state.keys, decision.state.bytes, decision.state.lastVersion],
            });
          }
          await client.query('COMMIT');
          return decision.result;
        } catch (error) {
          broken = isConnectionError(error);
          if (!broken) await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release(broken);
        }
      }),

    purge: (namespace, retireInstall) =>
      guarded(async () => {
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          const ids = [namespace.tenantId, namespace.extensionId];
          // The state row's lock first, as an update takes it: an update in flight commits whole
          // before the rows are deleted, and one after it sees the install retired.
          await lockState(client, ids);
          const removed = await client.query('DELETE FROM alga_ext_storage WHERE tenant_id = $1 AND extension_id = $2', ids);
          // The counts start over; the last version stays (see the LMDB engine's purge).
          await client.query('UPDATE alga_ext_storage_state SET keys = 0, bytes = 0 WHERE tenant_id = $1 AND extension_id = $2', ids);
          await client.query("DELETE FROM alga_ext_storage_retired WHERE tenant_id = $1 AND extension_id = $2 AND retired_at < now() - make_interval(secs => $3)", [...ids, retiredInstallMemoryMs / 1000]);
          if (retireInstall !== undefined) {
            await client.query('INSERT INTO alga_ext_storage_retired (tenant_id, extension_id, install_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [...ids, retireInstall]);
          }
          await client.query('COMMIT');
          return removed.rowCount ?? 0;
        } catch (error) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw error;
        } finally {
          client.release();
        }
      }),

    // The pool belongs to the runner's database connection, which the runner closes.
    close: () => undefined,
  };
}
