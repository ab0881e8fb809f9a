import type { ClientBase } from 'pg';
import { AlgaError } from '../errors/index.ts';

/**
 * The tables Alga keeps in PostgreSQL, as versioned forward migrations applied under one advisory
 * lock, so nodes starting together apply each step once. Every node (host or runner) brings the
 * schema up to date when it connects; a database set up by a newer version is refused.
 *
 * - `alga_kv`: the host store — each LMDB sub-database (`core.users`, `ext.installs`, …) is a
 *   `db` here; keys keep LMDB's ordered-binary encoding (so ranges sort alike), values msgpack.
 *   Each area's own schema version and migrations stay in the store (`core.meta`), as with LMDB.
 * - `alga_bundles` + `alga_bundle_chunks`: bundle bytes by content hash in 1 MB chunks, with the signature file.
 * - `alga_ext_storage` + `alga_ext_storage_state`: `alga.storage` values with their versions, and
 *   each namespace's (tenant + extension) key count, bytes and last version; its row lock orders updates.
 * - `alga_ext_storage_retired`: installs removed with their storage, whose requests may write no more.
 */

export interface SchemaStep {
  version: number;
  description: string;
  sql: string;
}

export const schemaSteps: readonly SchemaStep[] = [
  {
    version: 1,
    description: 'host store, bundle bytes',
    sql: `
      CREATE TABLE alga_kv (
        db text COLLATE "C" NOT NULL,
        key bytea NOT NULL,
        value bytea NOT NULL,
        PRIMARY KEY (db, key)
      );
      CREATE TABLE alga_bundles (
        hash text COLLATE "C" PRIMARY KEY,
        size bigint NOT NULL,
        chunks integer NOT NULL,
        signature_file text,
        stored_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE alga_bundle_chunks (
        hash text COLLATE "C" NOT NULL REFERENCES alga_bundles (hash) ON DELETE CASCADE,
        seq integer NOT NULL,
        bytes bytea NOT NULL,
        PRIMARY KEY (hash, seq)
      );
    `,
  },
  {
    version: 2,
    description: 'extension storage (alga.storage)',
    sql: `
      CREATE TABLE alga_ext_storage (
        tenant_id text COLLATE "C" NOT NULL,
        extension_id text COLLATE "C" NOT NULL,
        key text COLLATE "C" NOT NULL,
        value bytea NOT NULL,
        version bigint NOT NULL,
        PRIMARY KEY (tenant_id, extension_id, key)
      );
      CREATE TABLE alga_ext_storage_state (
        tenant_id text COLLATE "C" NOT NULL,
        extension_id text COLLATE "C" NOT NULL,
        keys bigint NOT NULL,
        bytes bigint NOT NULL,
        last_version bigint NOT NULL,
        PRIMARY KEY (tenant_id, extension_id)
      );
    `,
  },
  {
    version: 3,
    description: 'installs whose storage a purge deleted (alga.storage)',
    sql: `
      CREATE TABLE alga_ext_storage_retired (
        tenant_id text COLLATE "C" NOT NULL,
        extension_id text COLLATE "C" NOT NULL,
        install_id text COLLATE "C" NOT NULL,
        retired_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (tenant_id, extension_id, install_id)
      );
    `,
  },
];

/** The advisory lock key every node takes while it changes the schema. */
const schemaLockKey = 0x616c6761; // "alga"

/** Brings the database to the newest schema step this code knows, in one transaction. Returns the version. */
export async function ensureSchema(client: ClientBase): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [schemaLockKey]);
    await client.query(`CREATE TABLE IF NOT EXISTS alga_schema (
      version integer PRIMARY KEY,
      description text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM alga_schema');
    const current = rows[0]?.version ?? 0;
    const newest = schemaSteps.at(-1)!.version;
    if (current > newest) throw new AlgaError('E_DATABASE_SCHEMA_NEWER', `The database is at schema ${current}; this node knows up to ${newest}.`);
    for (const step of schemaSteps) {
      if (step.version <= current) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO alga_schema (version, description) VALUES ($1, $2)', [step.version, step.description]);
    }
    await client.query('COMMIT');
    return newest;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
