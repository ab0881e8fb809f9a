import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';
import { isAlgaError } from '../../../lib/errors/index.ts';
import { clientConfig, databaseSettings, isConnectionError } from '../../../lib/postgres/connection.ts';
import { ensureSchema } from '../../../lib/postgres/schema.ts';
import { health, healthSlot, responseSlot, type SqlFailure, type SqlQuery, type SqlRequest, type SqlResponse, type SyncWorkerData } from './sync-protocol.ts';

/**
 * The host store's PostgreSQL connection, on a worker thread: the main thread posts a request and
 * blocks on Atomics.wait; this thread runs the queries on its one connection and wakes it. One
 * connection means a transaction's statements all run on it, in order. It reconnects when the
 * connection breaks, and probes the database while idle so /readyz knows whether it answers.
 */

const data = workerData as SyncWorkerData & { port: MessagePort };
const shared = new Int32Array(data.shared);
const settings = databaseSettings(data.url, { connectTimeoutMs: data.connectTimeoutMs, statementTimeoutMs: data.statementTimeoutMs });
let client: pg.Client | undefined;
let connecting: Promise<pg.Client> | undefined;
let transactionOpen = false;
let lastActivity = 0;
let schemaChecked = false;

function setHealth(value: number): void {
  Atomics.store(shared, healthSlot, value);
}

function dropClient(broken: pg.Client): void {
  if (client !== broken) return;
  client = undefined;
  transactionOpen = false;
  broken.end().catch(() => undefined);
}

async function connection(): Promise<pg.Client> {
  if (client) return client;
  connecting ??= (async () => {
    const fresh = new pg.Client(clientConfig(settings, data.applicationName));
    // An error between queries (the server went away) marks the connection for replacement.
    fresh.on('error', () => dropClient(fresh));
    fresh.on('end', () => dropClient(fresh));
    try {
      await fresh.connect();
      if (!schemaChecked) {
        await ensureSchema(fresh);
        schemaChecked = true;
      }
    } catch (error) {
      fresh.end().catch(() => undefined);
      throw error;
    }
    client = fresh;
    return fresh;
  })().finally(() => {
    connecting = undefined;
  });
  return connecting;
}

/** Typed arrays arrive as Uint8Array; node-postgres sends Buffers as bytea. */
function asBuffers(value: unknown): unknown {
  if (value instanceof Uint8Array && !Buffer.isBuffer(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (Array.isArray(value)) return value.map(asBuffers);
  return value;
}

function failureOf(error: unknown): SqlFailure {
  if (isAlgaError(error)) return { code: error.code, message: error.detail ?? error.message, connection: false, catalogCode: error.code };
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  return { code, message: (message ?? String(error)).split('\n')[0], connection: isConnectionError(error) };
}

async function run(request: SqlRequest): Promise<SqlResponse> {
  lastActivity = Date.now();
  if (request.inTransaction && !transactionOpen) {
    return { id: request.id, failure: { code: '08003', message: 'the connection was lost during the transaction', connection: true } };
  }
  let active: pg.Client;
  try {
    active = await connection();
  } catch (error) {
    setHealth(health.down);
    return { id: request.id, failure: failureOf(error) };
  }
  const results: unknown[][][] = [];
  for (const query of request.queries) {
    try {
      const result = await active.query({ text: query.text, values: query.values?.map(asBuffers), rowMode: 'array', ...(query.name ? { name: query.name } : {}) });
      results.push(result.rows as unknown[][]);
      trackTransaction(query);
    } catch (error) {
      const failure = failureOf(error);
      if (failure.connection) {
        dropClient(active);
        setHealth(health.down);
      }
      return { id: request.id, failure };
    }
  }
  setHealth(health.up);
  lastActivity = Date.now();
  return { id: request.id, results };
}

function trackTransaction(query: SqlQuery): void {
  const head = query.text.trimStart().slice(0, 8).toUpperCase();
  if (head.startsWith('BEGIN')) transactionOpen = true;
  else if (head.startsWith('COMMIT') || head.startsWith('ROLLBACK')) transactionOpen = false;
}

data.port.on('message', (request: SqlRequest | { close: true }) => {
  if ('close' in request) {
    clearInterval(probe);
    void (client?.end() ?? Promise.resolve()).catch(() => undefined).finally(() => {
      data.port.close();
      parentPort?.close();
    });
    return;
  }
  void run(request).then((response) => {
    data.port.postMessage(response);
    Atomics.store(shared, responseSlot, 1);
    Atomics.notify(shared, responseSlot);
  });
});

/** While idle, a `SELECT 1` now and then keeps /readyz true to the database's state (and reconnects after an outage). */
const probe = setInterval(() => {
  if (transactionOpen || Date.now() - lastActivity < data.healthIntervalMs) return;
  lastActivity = Date.now();
  connection()
    .then((active) => active.query('SELECT 1'))
    .then(
      () => setHealth(health.up),
      (error: unknown) => {
        if (client && isConnectionError(error)) dropClient(client);
        setHealth(health.down);
      },
    );
}, data.healthIntervalMs);
