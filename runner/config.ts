import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { TrustBundleSource, type TrustBundle } from '../lib/signing/index.ts';
import { AlgaError } from '../lib/errors/index.ts';
import { parseUiOriginTemplate } from '../lib/ext-ui/origins.ts';
import { defaultLimits, type LimitsConfig } from './limits.ts';
import type { AdmissionConfig } from './admission.ts';
import type { DebugEventsConfig } from './debug/events.ts';
import type { UiProxyConfig } from './capabilities/ui-proxy.ts';
import type { IsolationPolicy } from './pool/protocol.ts';
import type { StorageEngine } from './storage/engine.ts';

export interface RunnerConfig {
  /** LMDB storage and the transpile cache live here. */
  dataDir: string;
  /** Content-addressed bundle folder; default `<dataDir>/bundles`. */
  bundleDir?: string;
  /** A fleet's PostgreSQL (RUNNER_DATABASE_URL): shared bundle bytes and `alga.storage` (runner/fleet/database.ts). */
  databaseUrl?: string;
  registryUrl?: string;
  serviceToken?: string;
  /** base64 nacl box secret key(s) that open sealed install secrets, one per line (the active one first). */
  secretKey?: string;
  /** Where they were read from (RUNNER_SECRET_KEY_FILE): re-read when a key rotation brings a new one. */
  secretKeyFile?: string;
  /** Parsed trust bundle, or a path / inline JSON (as SIGNING_TRUST_BUNDLE). */
  trustBundle?: TrustBundle | string;
  /** Worker threads any one tenant may keep busy (CPU count, at least 2). */
  workers?: number;
  /** Worker threads beyond those, kept for tenants with nothing running (1). */
  reserveWorkers?: number;
  /** Transpile and compile components on a loader thread (true), or on the runner's own thread: only for a process that serves one local call (`alga-ext run`). */
  loaderThread?: boolean;
  /** `tenant` policy instances one worker keeps before it resets one for another tenant (64). */
  instancesPerWorker?: number;
  /** Linear memory (and snapshots) of one worker's instances, in MB (256). */
  instanceMemoryMb?: number;
  /** Budget for making a job's instance ready (instantiation or tenant switch), apart from its deadline (5000). */
  instantiateTimeoutMs?: number;
  /** Content hashes prepared ahead (`POST /v1/prepare`) that the runner prepares again when it starts (64). */
  preparedToRemember?: number;
  host?: string;
  port?: number;
  publicBase?: string;
  egressAllowPrivate?: boolean;
  defaultIsolation?: IsolationPolicy;
  /** Tenant policy: an instance is replaced after this many requests or this much time. */
  recycleAfterRequests?: number;
  recycleAfterMs?: number;
  compiledCacheBytes?: number;
  limits?: Partial<LimitsConfig>;
  concurrency?: Partial<AdmissionConfig>;
  debug?: Partial<DebugEventsConfig>;
  uiProxy?: Partial<UiProxyConfig>;
  /** RUNNER_UI_ORIGIN: where each install's UI lives, `https://{ext}.ext.example.com` (docs/ui.md); on loopback a `*.localhost` default. */
  uiOrigin?: string;
  /** fastify logger; false by default in the library, on in `alga-runner`. */
  logger?: boolean;
  /** Logger level (`info`). */
  logLevel?: LogLevel;
  /** Log every request and execution (except /healthz); by default only failed executions and errors are logged. */
  logRequests?: boolean;
  /** Where `alga.storage` keeps its data (runner/storage/engine.ts); LMDB under `<dataDir>/storage` by default. The runner closes it. */
  storageEngine?: StorageEngine;
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
const logLevels: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export type ResolvedRunnerConfig = Required<Pick<RunnerConfig, 'dataDir' | 'bundleDir' | 'workers' | 'reserveWorkers' | 'loaderThread' | 'instancesPerWorker' | 'instanceMemoryMb' | 'instantiateTimeoutMs' | 'preparedToRemember' | 'host' | 'port' | 'egressAllowPrivate' | 'defaultIsolation' | 'recycleAfterRequests' | 'recycleAfterMs' | 'compiledCacheBytes' | 'logger' | 'logLevel' | 'logRequests'>> &
  Pick<RunnerConfig, 'registryUrl' | 'serviceToken' | 'secretKey' | 'secretKeyFile' | 'publicBase' | 'uiOrigin' | 'storageEngine' | 'databaseUrl'> & {
    /** Follows its file (SIGNING_TRUST_BUNDLE as a path): a changed trust bundle applies within a second. */
    trust: TrustBundleSource;
    limits: LimitsConfig;
    concurrency: AdmissionConfig;
    debug: DebugEventsConfig;
    uiProxy: UiProxyConfig;
  };

/** How often, at most, the runner looks whether its trust bundle file changed (one stat). */
const trustRecheckMs = 1000;

export function resolveConfig(config: RunnerConfig): ResolvedRunnerConfig {
  const dataDir = resolve(config.dataDir);
  const uiOrigin = config.uiOrigin ? parseUiOriginTemplate(config.uiOrigin) : undefined;
  if (typeof uiOrigin === 'string') throw new AlgaError('E_RUNNER_CONFIG_INVALID', `RUNNER_UI_ORIGIN ${uiOrigin}`);
  return {
    dataDir,
    bundleDir: resolve(config.bundleDir ?? join(dataDir, 'bundles')),
    registryUrl: config.registryUrl,
    databaseUrl: config.databaseUrl,
    serviceToken: config.serviceToken,
    secretKey: config.secretKey,
    secretKeyFile: config.secretKeyFile,
    publicBase: config.publicBase,
    storageEngine: config.storageEngine,
    trust: new TrustBundleSource(config.trustBundle, trustRecheckMs),
    workers: Math.max(1, config.workers ?? Math.max(2, availableParallelism())),
    reserveWorkers: Math.max(0, config.reserveWorkers ?? 1),
    loaderThread: config.loaderThread ?? true,
    instancesPerWorker: Math.max(1, config.instancesPerWorker ?? 64),
    instanceMemoryMb: Math.max(1, config.instanceMemoryMb ?? 256),
    instantiateTimeoutMs: Math.max(1, config.instantiateTimeoutMs ?? 5_000),
    preparedToRemember: Math.max(0, config.preparedToRemember ?? 64),
    host: config.host ?? '127.0.0.1',
    port: config.port ?? 0,
    egressAllowPrivate: config.egressAllowPrivate ?? false,
    defaultIsolation: config.defaultIsolation ?? 'tenant',
    recycleAfterRequests: config.recycleAfterRequests ?? 10_000,
    recycleAfterMs: config.recycleAfterMs ?? 10 * 60_000,
    compiledCacheBytes: config.compiledCacheBytes ?? 512 * 1048576,
    uiOrigin: config.uiOrigin,
    logger: config.logger ?? false,
    logLevel: config.logLevel ?? 'info',
    logRequests: config.logRequests ?? false,
    limits: { ...defaultLimits, ...config.limits },
    concurrency: { perTenant: 32, perExtension: 64, queueMax: 256, maxQueueWaitMs: 5_000, ...config.concurrency },
    debug: { streamPrefix: 'ext-debug', maxLen: 10_000, maxEventBytes: 8_192, ringSize: 5_000, ...config.debug },
    uiProxy: { timeoutMs: 5_000, ...config.uiProxy },
  };
}

const number = (value: string | undefined, name: string): number | undefined => {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new AlgaError('E_RUNNER_CONFIG_INVALID', `${name} must be a non-negative number, got "${value}".`);
  return parsed;
};

/** The `alga-runner` configuration from its environment (names in docs/runner.md). */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): RunnerConfig {
  let secretKey = env.RUNNER_SECRET_KEY;
  if (!secretKey && env.RUNNER_SECRET_KEY_FILE) {
    try {
      secretKey = readFileSync(env.RUNNER_SECRET_KEY_FILE, 'utf8').trim();
    } catch {
      throw new AlgaError('E_RUNNER_CONFIG_INVALID', `RUNNER_SECRET_KEY_FILE (${env.RUNNER_SECRET_KEY_FILE}) cannot be read.`);
    }
  }
  const isolation = env.RUNNER_DEFAULT_ISOLATION;
  const logLevel = env.RUNNER_LOG_LEVEL;
  if (logLevel && !logLevels.includes(logLevel)) throw new AlgaError('E_RUNNER_CONFIG_INVALID', `RUNNER_LOG_LEVEL must be one of ${logLevels.join(', ')}.`);
  if (isolation && isolation !== 'tenant' && isolation !== 'request') throw new AlgaError('E_RUNNER_CONFIG_INVALID', 'RUNNER_DEFAULT_ISOLATION must be "tenant" or "request".');
  return {
    dataDir: env.RUNNER_DATA_DIR ?? join(process.cwd(), '.alga-runner'),
    bundleDir: env.RUNNER_BUNDLE_DIR || undefined,
    registryUrl: env.RUNNER_REGISTRY_URL || undefined,
    databaseUrl: env.RUNNER_DATABASE_URL || undefined,
    serviceToken: env.RUNNER_SERVICE_TOKEN || undefined,
    secretKey: secretKey || undefined,
    secretKeyFile: env.RUNNER_SECRET_KEY ? undefined : env.RUNNER_SECRET_KEY_FILE || undefined,
    trustBundle: env.SIGNING_TRUST_BUNDLE || undefined,
    workers: number(env.RUNNER_WORKERS, 'RUNNER_WORKERS'),
    reserveWorkers: number(env.RUNNER_RESERVE_WORKERS, 'RUNNER_RESERVE_WORKERS'),
    instancesPerWorker: number(env.RUNNER_INSTANCES_PER_WORKER, 'RUNNER_INSTANCES_PER_WORKER'),
    instanceMemoryMb: number(env.RUNNER_INSTANCE_MEMORY_MB, 'RUNNER_INSTANCE_MEMORY_MB'),
    instantiateTimeoutMs: number(env.RUNNER_INSTANTIATE_TIMEOUT_MS, 'RUNNER_INSTANTIATE_TIMEOUT_MS'),
    host: env.RUNNER_HOST || undefined,
    port: number(env.RUNNER_PORT, 'RUNNER_PORT'),
    publicBase: env.RUNNER_PUBLIC_BASE || undefined,
    egressAllowPrivate: env.RUNNER_EGRESS_ALLOW_PRIVATE === 'true' || env.RUNNER_EGRESS_ALLOW_PRIVATE === '1',
    defaultIsolation: (isolation as IsolationPolicy | undefined) || undefined,
    uiOrigin: env.RUNNER_UI_ORIGIN || undefined,
    ...(env.RUNNER_MAX_QUEUE_WAIT_MS ? { concurrency: { maxQueueWaitMs: number(env.RUNNER_MAX_QUEUE_WAIT_MS, 'RUNNER_MAX_QUEUE_WAIT_MS') } } : {}),
    debug: {
      redisUrl: env.RUNNER_DEBUG_REDIS_URL || undefined,
      ...(env.RUNNER_DEBUG_REDIS_STREAM_PREFIX ? { streamPrefix: env.RUNNER_DEBUG_REDIS_STREAM_PREFIX } : {}),
      ...(env.RUNNER_DEBUG_REDIS_MAXLEN ? { maxLen: number(env.RUNNER_DEBUG_REDIS_MAXLEN, 'RUNNER_DEBUG_REDIS_MAXLEN') } : {}),
      ...(env.RUNNER_DEBUG_MAX_EVENT_BYTES ? { maxEventBytes: number(env.RUNNER_DEBUG_MAX_EVENT_BYTES, 'RUNNER_DEBUG_MAX_EVENT_BYTES') } : {}),
    },
    uiProxy: {
      baseUrl: env.UI_PROXY_BASE_URL || undefined,
      authKey: env.UI_PROXY_AUTH_KEY || undefined,
      ...(env.UI_PROXY_TIMEOUT_MS ? { timeoutMs: number(env.UI_PROXY_TIMEOUT_MS, 'UI_PROXY_TIMEOUT_MS') } : {}),
      ...(env.UI_PROXY_MAX_RESPONSE_BYTES ? { maxResponseBytes: number(env.UI_PROXY_MAX_RESPONSE_BYTES, 'UI_PROXY_MAX_RESPONSE_BYTES') } : {}),
    },
    logger: true,
    logLevel: (logLevel as LogLevel | undefined) || undefined,
    logRequests: env.RUNNER_LOG_REQUESTS === 'true' || env.RUNNER_LOG_REQUESTS === '1',
  };
}
