import { join, resolve } from 'node:path';
import { AlgaError } from '../../lib/errors/index.ts';
import { parseUiOriginTemplate } from '../../lib/ext-ui/origins.ts';
import { resolveFleetSettings, type FleetInput, type FleetSettings } from './fleet-config.ts';
import { trustedProxiesFrom } from './trusted-proxies.ts';

export const profiles = ['appliance', 'control-plane', 'all'] as const;
export type HostProfile = (typeof profiles)[number];

/** The limits one install runs under (an install's own, or the operator's ceilings for them). */
export interface ExtensionLimits {
  memoryMb: number;
  timeoutMs: number;
  requestsPerMinute: number;
  maxConcurrency: number;
}

/** Operator ceilings for what an install may ask for. */
export type LimitCeilings = ExtensionLimits;

export interface HostConfig {
  dataDir: string;
  host: string;
  port: number;
  profile: HostProfile;
  /** Runners elsewhere (RUNNER_BASE_URL); when unset the host starts its own runner child. */
  runnerBaseUrl?: string;
  /** Where browsers reach the runner (RUNNER_PUBLIC_BASE); defaults to the runner's URL. */
  runnerPublicBase?: string;
  /** RUNNER_UI_ORIGIN: each install's UI origin, `https://{ext}.ext.example.com` (docs/ui.md); on loopback a `*.localhost` default. */
  uiOrigin?: string;
  /** SIGNING_TRUST_BUNDLE (a path or inline JSON), else `<data>/trust-bundle.json` (followed while it does not exist yet). */
  trustBundle?: string;
  gatewayTimeoutMs: number;
  gatewayMaxBodyBytes: number;
  registryMaxBundleBytes: number;
  /** EXT_REBUILD_CHECK (`on`, default, or `off`): rebuild published versions that carry their source. */
  rebuildCheck: boolean;
  ceilings: LimitCeilings;
  /** How requests may arrive and how long a stop waits for them (docs/host.md, "Slow clients and shutdown"). */
  http: HttpLimits;
  executionLog: ExecutionLogLimits;
  secureCookies: boolean;
  /** ALGA_TRUSTED_PROXIES: the peers whose X-Forwarded-* headers are believed (host/core/trusted-proxies.ts); false: none. */
  trustedProxies: string[] | false;
  /** PostgreSQL, Redis and runners of a fleet (host/core/fleet-config.ts); all unset when embedded. */
  fleet: FleetSettings;
  /** Everything else from the environment, for plugins' own settings (ALGA_LICENSE_SERVICE_URL, …). */
  env: Readonly<Record<string, string | undefined>>;
}

export interface HttpLimits {
  /** The longest one whole request (headers and body) may take to arrive (ALGA_REQUEST_TIMEOUT_MS). */
  requestTimeoutMs: number;
  /** A body slower than this on average, once `bodyGraceMs` have passed, is cut with 408 (ALGA_BODY_MIN_BYTES_PER_SECOND). */
  bodyMinBytesPerSecond: number;
  bodyGraceMs: number;
  /** How long a stop waits for requests in flight before it closes their connections (ALGA_SHUTDOWN_DRAIN_MS). */
  shutdownDrainMs: number;
}

/** The execution log keeps rows for `retentionMs`, and never more than `maxRows` rows or `maxBytes` bytes (the oldest go first). */
export interface ExecutionLogLimits {
  retentionMs: number;
  maxRows: number;
  maxBytes: number;
}

export interface HostConfigInput extends FleetInput {
  dataDir?: string;
  host?: string;
  port?: number | string;
  profile?: string;
  env?: Record<string, string | undefined>;
}

function positiveInt(value: string | number | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(number) || number < 0) throw new AlgaError('E_HOST_CONFIG_INVALID', `${name} must be a whole number, got "${value}".`);
  return number;
}

/** The host's own trust bundle, managed with `alga-host trust`. */
export function trustBundlePath(dataDir: string): string {
  return join(dataDir, 'trust-bundle.json');
}

export function isProfile(value: unknown): value is HostProfile {
  return typeof value === 'string' && (profiles as readonly string[]).includes(value);
}

function uiOriginOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const parsed = parseUiOriginTemplate(value);
  if (typeof parsed === 'string') throw new AlgaError('E_HOST_CONFIG_INVALID', `RUNNER_UI_ORIGIN ${parsed}`);
  return value;
}

/** Resolves the host configuration from flags (first) and the environment. */
export function resolveHostConfig(input: HostConfigInput = {}): HostConfig {
  const env = input.env ?? process.env;
  const profile = input.profile ?? env.ALGA_PROFILE ?? 'all';
  if (!isProfile(profile)) throw new AlgaError('E_PROFILE_UNKNOWN', `Got "${profile}".`);
  const port = positiveInt(input.port ?? env.ALGA_PORT, 8080, 'port');
  if (port > 65535) throw new AlgaError('E_HOST_CONFIG_INVALID', `port must be at most 65535, got ${port}.`);
  const dataDir = resolve(input.dataDir ?? env.ALGA_DATA_DIR ?? './.alga-data');
  const fleet = resolveFleetSettings(input, env);
  return {
    dataDir,
    host: input.host ?? env.ALGA_HOST ?? '127.0.0.1',
    port,
    profile,
    runnerBaseUrl: fleet.runnerUrls.length === 1 ? fleet.runnerUrls[0] : undefined,
    runnerPublicBase: env.RUNNER_PUBLIC_BASE || undefined,
    uiOrigin: uiOriginOf(env.RUNNER_UI_ORIGIN),
    trustBundle: env.SIGNING_TRUST_BUNDLE || trustBundlePath(dataDir),
    gatewayTimeoutMs: positiveInt(env.EXT_GATEWAY_TIMEOUT_MS, 10_000, 'EXT_GATEWAY_TIMEOUT_MS'),
    gatewayMaxBodyBytes: positiveInt(env.EXT_GATEWAY_MAX_BODY_BYTES, 1024 * 1024, 'EXT_GATEWAY_MAX_BODY_BYTES'),
    registryMaxBundleBytes: positiveInt(env.REGISTRY_MAX_BUNDLE_BYTES, 64 * 1024 * 1024, 'REGISTRY_MAX_BUNDLE_BYTES'),
    rebuildCheck: onOrOff(env.EXT_REBUILD_CHECK, true, 'EXT_REBUILD_CHECK'),
    ceilings: {
      memoryMb: positiveInt(env.EXT_MAX_MEMORY_MB, 256, 'EXT_MAX_MEMORY_MB'),
      timeoutMs: positiveInt(env.EXT_MAX_TIMEOUT_MS, 30_000, 'EXT_MAX_TIMEOUT_MS'),
      requestsPerMinute: positiveInt(env.EXT_RATE_LIMIT_PER_MINUTE, 1200, 'EXT_RATE_LIMIT_PER_MINUTE'),
      maxConcurrency: positiveInt(env.EXT_MAX_CONCURRENCY, 64, 'EXT_MAX_CONCURRENCY'),
    },
    http: {
      requestTimeoutMs: positiveInt(env.ALGA_REQUEST_TIMEOUT_MS, 10 * 60_000, 'ALGA_REQUEST_TIMEOUT_MS'),
      bodyMinBytesPerSecond: positiveInt(env.ALGA_BODY_MIN_BYTES_PER_SECOND, 16 * 1024, 'ALGA_BODY_MIN_BYTES_PER_SECOND'),
      bodyGraceMs: positiveInt(env.ALGA_BODY_GRACE_MS, 10_000, 'ALGA_BODY_GRACE_MS'),
      shutdownDrainMs: positiveInt(env.ALGA_SHUTDOWN_DRAIN_MS, 10_000, 'ALGA_SHUTDOWN_DRAIN_MS'),
    },
    executionLog: {
      retentionMs: positiveInt(env.EXT_EXECUTION_LOG_RETENTION_DAYS, 7, 'EXT_EXECUTION_LOG_RETENTION_DAYS') * 86_400_000,
      maxRows: positiveInt(env.EXT_EXECUTION_LOG_MAX_ROWS, 1_000_000, 'EXT_EXECUTION_LOG_MAX_ROWS'),
      maxBytes: positiveInt(env.EXT_EXECUTION_LOG_MAX_MB, 256, 'EXT_EXECUTION_LOG_MAX_MB') * 1024 * 1024,
    },
    secureCookies: env.ALGA_SECURE_COOKIES === '1' || env.ALGA_SECURE_COOKIES === 'true',
    trustedProxies: trustedProxiesFrom(env),
    fleet,
    env,
  };
}

function onOrOff(value: string | undefined, fallback: boolean, name: string): boolean {
  if (value === undefined || value === '') return fallback;
  if (value === 'on' || value === 'off') return value === 'on';
  throw new AlgaError('E_HOST_CONFIG_INVALID', `${name} must be "on" or "off", got "${value.slice(0, 40)}".`);
}
