import { readFileSync } from 'node:fs';
import { AlgaError } from '../../lib/errors/index.ts';
import { databaseSettings } from '../../lib/postgres/connection.ts';

/**
 * How one host node joins a fleet: where the shared state lives (PostgreSQL), where quotas,
 * leases and runner heartbeats live (Redis), and which runners it calls. Unset, the host runs
 * embedded (LMDB, in-process quotas, its own runner child) exactly as before.
 *
 * Each setting comes from a flag of `alga-host start`, else the environment, else the config
 * file (`--config FILE` / `ALGA_CONFIG`, JSON), e.g.:
 *
 *   { "database": "postgres://alga@db:5432/alga", "redis": "redis://redis:6379",
 *     "runners": "redis", "redisPrefix": "alga" }
 */

export interface FleetSettings {
  /** PostgreSQL for the host store and bundle bytes (`--database`, ALGA_DATABASE_URL, "database"). */
  databaseUrl?: string;
  /** Redis for quotas, login limits and runner discovery (`--redis`, ALGA_REDIS_URL, "redis"). */
  redisUrl?: string;
  /** Runners called by content hash (`--runner URL…`, RUNNER_BASE_URL with commas, "runners": [...]). */
  runnerUrls: string[];
  /** Runners found by their heartbeats in Redis (`--runner redis`, ALGA_RUNNER_DISCOVERY=redis, "runners": "redis"). */
  discoverRunners: boolean;
  /** Prefix of every Redis key this fleet writes (`alga`; one per fleet sharing a Redis). */
  redisPrefix: string;
}

export interface FleetInput {
  database?: string;
  redis?: string;
  /** URLs, or the single word `redis`. */
  runners?: string[];
  configFile?: string;
}

interface FleetFile {
  database?: unknown;
  redis?: unknown;
  runners?: unknown;
  redisPrefix?: unknown;
}

function readFleetFile(path: string): FleetFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new AlgaError('E_FLEET_CONFIG_INVALID', `The config file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AlgaError('E_FLEET_CONFIG_INVALID', `The config file ${path} is not JSON.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AlgaError('E_FLEET_CONFIG_INVALID', `The config file ${path} must hold a JSON object.`);
  const known = new Set(['database', 'redis', 'runners', 'redisPrefix']);
  const unknown = Object.keys(parsed).filter((key) => !known.has(key));
  if (unknown.length > 0) throw new AlgaError('E_FLEET_CONFIG_INVALID', `The config file ${path} has unknown keys: ${unknown.join(', ')} (known: ${[...known].join(', ')}).`);
  return parsed as FleetFile;
}

function optionalString(value: unknown, name: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string') throw new AlgaError('E_FLEET_CONFIG_INVALID', `"${name}" must be a string.`);
  return value;
}

function checkRedisUrl(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AlgaError('E_REDIS_URL_INVALID', 'It is not a URL.');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new AlgaError('E_REDIS_URL_INVALID', `It starts with "${parsed.protocol}//".`);
  return url;
}

function checkRunnerUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AlgaError('E_FLEET_CONFIG_INVALID', `The runner URL "${url}" is not a URL.`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AlgaError('E_FLEET_CONFIG_INVALID', `The runner URL "${url}" must start with http:// or https://.`);
  return url.replace(/\/+$/, '');
}

function runnerList(value: unknown, name: string): string[] | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value.split(',').map((item) => item.trim()).filter(Boolean);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value as string[];
  throw new AlgaError('E_FLEET_CONFIG_INVALID', `"${name}" must be a list of runner URLs or "redis".`);
}

/** Resolves the fleet settings: flags first, then the environment, then the config file. */
export function resolveFleetSettings(input: FleetInput, env: Readonly<Record<string, string | undefined>>): FleetSettings {
  const configFile = input.configFile ?? (env.ALGA_CONFIG || undefined);
  const file = configFile ? readFleetFile(configFile) : {};
  const databaseUrl = input.database ?? (env.ALGA_DATABASE_URL || undefined) ?? optionalString(file.database, 'database');
  if (databaseUrl !== undefined) databaseSettings(databaseUrl);
  const redisUrl = checkRedisUrl(input.redis ?? (env.ALGA_REDIS_URL || undefined) ?? optionalString(file.redis, 'redis'));
  const runners =
    (input.runners && input.runners.length > 0 ? input.runners.flatMap((item) => item.split(',')).map((item) => item.trim()).filter(Boolean) : undefined) ??
    (env.ALGA_RUNNER_DISCOVERY === 'redis' ? ['redis'] : undefined) ??
    runnerList(env.RUNNER_BASE_URL, 'RUNNER_BASE_URL') ??
    runnerList(file.runners, 'runners') ??
    [];
  const discoverRunners = runners.length === 1 && runners[0] === 'redis';
  if (discoverRunners && !redisUrl) throw new AlgaError('E_FLEET_CONFIG_INVALID', 'Finding runners by their heartbeats ("redis") needs Redis: set --redis or ALGA_REDIS_URL.');
  if (!discoverRunners && runners.includes('redis')) throw new AlgaError('E_FLEET_CONFIG_INVALID', '"redis" stands alone: either list runner URLs or find runners in Redis.');
  const redisPrefix = optionalString(env.ALGA_REDIS_PREFIX, 'ALGA_REDIS_PREFIX') ?? optionalString(file.redisPrefix, 'redisPrefix') ?? 'alga';
  if (!/^[A-Za-z0-9._:-]{1,64}$/.test(redisPrefix)) throw new AlgaError('E_FLEET_CONFIG_INVALID', 'The Redis prefix is 1-64 letters, digits, ".", "_", ":" or "-".');
  return {
    databaseUrl,
    redisUrl,
    runnerUrls: discoverRunners ? [] : runners.map(checkRunnerUrl),
    discoverRunners,
    redisPrefix,
  };
}

/** True when this node shares its state with others (PostgreSQL). */
export function isFleetNode(settings: FleetSettings): boolean {
  return settings.databaseUrl !== undefined;
}
