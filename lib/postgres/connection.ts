import type { ClientConfig } from 'pg';
import { AlgaError } from '../errors/index.ts';

/**
 * One PostgreSQL connection setting for every part of Alga that uses the database (host store,
 * extension storage, bundle bytes): the URL checked once, described without its password, and
 * the timeouts that keep an unreachable or hung database from holding anything up for long.
 */

export interface DatabaseSettings {
  url: string;
  /** `host:port/database` — safe to print: never the user's password. */
  described: string;
  /** Giving up on a connection attempt. */
  connectTimeoutMs: number;
  /** PostgreSQL's `statement_timeout` and `lock_timeout`. */
  statementTimeoutMs: number;
}

export const defaultConnectTimeoutMs = 3_000;
export const defaultStatementTimeoutMs = 5_000;

/** Parses and checks a `postgres://` / `postgresql://` URL; a bad one is E_DATABASE_URL_INVALID (never echoing a password). */
export function databaseSettings(url: string, options: { connectTimeoutMs?: number; statementTimeoutMs?: number } = {}): DatabaseSettings {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AlgaError('E_DATABASE_URL_INVALID', 'It is not a URL.');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new AlgaError('E_DATABASE_URL_INVALID', `It starts with "${parsed.protocol}//".`);
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || parsed.username || 'postgres';
  const host = parsed.hostname || parsed.searchParams.get('host') || 'localhost';
  return {
    url,
    described: `${host}:${parsed.port || '5432'}/${database}`,
    connectTimeoutMs: options.connectTimeoutMs ?? defaultConnectTimeoutMs,
    statementTimeoutMs: options.statementTimeoutMs ?? defaultStatementTimeoutMs,
  };
}

/** node-postgres settings: the URL, the connect timeout, and server-side limits on statements, locks and idle transactions. */
export function clientConfig(settings: DatabaseSettings, applicationName: string): ClientConfig {
  return {
    connectionString: settings.url,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    lock_timeout: settings.statementTimeoutMs,
    // A node that stops mid-transaction (SIGSTOP, a hung event loop) must not hold row locks for long.
    idle_in_transaction_session_timeout: settings.statementTimeoutMs * 2,
    application_name: applicationName,
    keepAlive: true,
  };
}

const connectionErrorCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** True for errors that mean "the database is not there" rather than "this statement is wrong". */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && connectionErrorCodes.has(code)) return true;
  // 08xxx connection exceptions, 57P01-57P03 shutdown / cannot connect now, 53300 too many connections.
  if (code && (/^08/.test(code) || /^57P0[1-3]$/.test(code) || code === '53300')) return true;
  return typeof message === 'string' && /Connection terminated|timeout expired|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Connection ended/i.test(message);
}

/** The reason for a failed connection, in a few words (an error code or PostgreSQL's message). */
export function connectionFailureReason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code && connectionErrorCodes.has(code)) return code;
  return (message ?? String(error)).split('\n')[0].slice(0, 200);
}

/** E_DATABASE_UNREACHABLE naming the database and why, never its password. */
export function unreachable(settings: DatabaseSettings, error: unknown): AlgaError {
  return new AlgaError('E_DATABASE_UNREACHABLE', `${settings.described}: ${connectionFailureReason(error)}.`, { cause: error });
}
