import pg from 'pg';
import { contentHashOf } from '../../lib/bundle/index.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { clientConfig, databaseSettings, isConnectionError, unreachable, type DatabaseSettings } from '../../lib/postgres/connection.ts';
import { ensureSchema } from '../../lib/postgres/schema.ts';

/**
 * A runner's connection to the fleet's PostgreSQL (RUNNER_DATABASE_URL): bundle bytes by content
 * hash (written by the host registry, host/core/postgres/bundle-blobs.ts) and `alga.storage`, so
 * any runner serves any tenant. A small pool; the schema is brought up to date once.
 */

export interface SharedBundle {
  bytes: Uint8Array;
  signatureFile: unknown;
}

export interface RunnerDatabase {
  readonly settings: DatabaseSettings;
  readonly pool: pg.Pool;
  /** Connects and brings the schema up to date; E_DATABASE_UNREACHABLE when it cannot. */
  ready(): Promise<void>;
  /** A bundle's bytes (checked against the hash) and signature file, or undefined when the store has none. */
  fetchBundle(hash: string): Promise<SharedBundle | undefined>;
  close(): Promise<void>;
}

/**
 * Statements, row-lock waits and waits for a free pooled connection may take this long: updates of
 * one busy namespace queue on its row lock (each one a few statements) and calls queue for the
 * pool's connections, and a guest's own deadline (up to 30 s) bounds the call anyway. (node-postgres
 * bounds the wait for a pooled connection with its connect timeout.)
 */
const storageWaitMs = 15_000;

export function openRunnerDatabase(url: string, options: { maxConnections?: number } = {}): RunnerDatabase {
  const settings = databaseSettings(url, { statementTimeoutMs: storageWaitMs, connectTimeoutMs: storageWaitMs });
  const pool = new pg.Pool({ ...clientConfig(settings, 'alga-runner'), max: options.maxConnections ?? 8 });
  // An idle connection the server closed is dropped by the pool; it must not crash the runner.
  pool.on('error', () => undefined);
  let schema: Promise<void> | undefined;

  function ready(): Promise<void> {
    schema ??= (async () => {
      const client = await pool.connect().catch((error: unknown) => {
        throw unreachable(settings, error);
      });
      try {
        await ensureSchema(client);
      } finally {
        client.release();
      }
    })().catch((error: unknown) => {
      schema = undefined; // try again next time
      throw error;
    });
    return schema;
  }

  return {
    settings,
    pool,
    ready,
    async fetchBundle(hash) {
      try {
        await ready();
        const head = await pool.query<{ size: string; chunks: number; signature_file: string | null }>({ name: 'alga-bundle-head', text: 'SELECT size, chunks, signature_file FROM alga_bundles WHERE hash = $1', values: [hash] });
        if (head.rows.length === 0) return undefined;
        const chunks = await pool.query<{ bytes: Buffer }>({ name: 'alga-bundle-chunks', text: 'SELECT bytes FROM alga_bundle_chunks WHERE hash = $1 ORDER BY seq', values: [hash] });
        const bytes = Buffer.concat(chunks.rows.map((row) => row.bytes));
        const { size, chunks: count, signature_file: signatureText } = head.rows[0];
        if (chunks.rows.length !== count || bytes.length !== Number(size) || contentHashOf(bytes) !== hash) {
          throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `The shared bundle store holds bytes for ${hash} that do not match it.`);
        }
        return { bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), signatureFile: signatureText === null ? undefined : JSON.parse(signatureText) };
      } catch (error) {
        if (error instanceof AlgaError && error.code !== 'E_DATABASE_UNREACHABLE') throw error;
        if (error instanceof AlgaError || isConnectionError(error)) throw new AlgaError('E_BUNDLE_STORE_UNAVAILABLE', `${settings.described} did not answer.`, { cause: error });
        throw error;
      }
    },
    close: () => pool.end(),
  };
}
