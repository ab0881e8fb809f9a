import type { ErrorCode } from '../../../lib/errors/index.ts';

/** Messages between the host's main thread and its PostgreSQL worker (host/core/postgres/sync-worker.ts). */

export interface SqlQuery {
  text: string;
  values?: unknown[];
  /** Prepared once per connection under this name. */
  name?: string;
}

export interface SqlRequest {
  id: number;
  queries: SqlQuery[];
  /** The queries continue a transaction begun by an earlier request: refused if the connection was replaced since. */
  inTransaction: boolean;
}

export interface SqlFailure {
  /** PostgreSQL's SQLSTATE or Node's error code. */
  code?: string;
  message: string;
  /** The database is unreachable (or the connection broke), as opposed to a refused statement. */
  connection: boolean;
  /** A catalog error raised in the worker (a database schema newer than this node). */
  catalogCode?: ErrorCode;
}

export type SqlResponse = { id: number; results: unknown[][][] } | { id: number; failure: SqlFailure };

/** Slots of the shared Int32Array. */
export const responseSlot = 0;
export const healthSlot = 1;
export const health = { unknown: 0, up: 1, down: 2 } as const;

export interface SyncWorkerData {
  url: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  applicationName: string;
  shared: SharedArrayBuffer;
  /** Probes the database this often while idle, for /readyz. */
  healthIntervalMs: number;
}
