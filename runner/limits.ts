import type { Manifest } from '../lib/bundle/index.ts';

/** Operator ceilings and defaults for every execution. */
export interface LimitsConfig {
  defaultTimeoutMs: number;
  maxTimeoutMs: number;
  defaultMemoryMb: number;
  maxMemoryMb: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  maxEgressBytes: number;
  egressTimeoutMs: number;
  maxStorageKeys: number;
  maxStorageBytes: number;
  maxStorageValueBytes: number;
  maxLogEventsPerExecution: number;
  maxStdioBytesPerExecution: number;
  /** Debug events one execution may cause (logs, stdio, denials together); the rest are dropped and counted. */
  maxDebugEventsPerExecution: number;
  /** Denials listed in one execution record; the rest are counted in `denials_dropped`. */
  maxDenialsPerExecution: number;
}

export const defaultLimits: LimitsConfig = {
  defaultTimeoutMs: 5_000,
  maxTimeoutMs: 30_000,
  defaultMemoryMb: 128,
  maxMemoryMb: 512,
  maxRequestBytes: 10 * 1048576,
  maxResponseBytes: 10 * 1048576,
  maxEgressBytes: 10 * 1048576,
  egressTimeoutMs: 10_000,
  maxStorageKeys: 10_000,
  maxStorageBytes: 64 * 1048576,
  maxStorageValueBytes: 1048576,
  maxLogEventsPerExecution: 1_000,
  maxStdioBytesPerExecution: 64 * 1024,
  maxDebugEventsPerExecution: 1_000,
  maxDenialsPerExecution: 100,
};

/** The limits the host sends per install (`limits` of POST /v1/execute). */
export interface RequestedLimits {
  timeout_ms?: number | null;
  memory_mb?: number | null;
  max_request_bytes?: number | null;
  max_response_bytes?: number | null;
  max_egress_bytes?: number | null;
  max_storage_keys?: number | null;
  max_storage_bytes?: number | null;
}

export interface EffectiveLimits {
  timeoutMs: number;
  memoryBytes: number;
  maxRequestBytes: number;
  maxResponseBytes: number;
  maxEgressBytes: number;
  egressTimeoutMs: number;
  maxStorageKeys: number;
  maxStorageBytes: number;
  maxStorageValueBytes: number;
  maxLogEvents: number;
  maxStdioBytes: number;
  maxDebugEvents: number;
  maxDenials: number;
}

const within = (requested: number | null | undefined, fallback: number, ceiling: number): number =>
  Math.min(typeof requested === 'number' && Number.isFinite(requested) && requested > 0 ? requested : fallback, ceiling);

/** The install's limits, else the manifest's, else the operator default — never above the operator ceiling. */
export function effectiveLimits(config: LimitsConfig, manifest: Manifest, requested: RequestedLimits | null = {}): EffectiveLimits {
  requested ??= {};
  const timeoutMs = within(requested.timeout_ms ?? manifest.limits?.timeoutMs, config.defaultTimeoutMs, config.maxTimeoutMs);
  const memoryMb = within(requested.memory_mb ?? manifest.limits?.memoryMb, config.defaultMemoryMb, config.maxMemoryMb);
  return {
    timeoutMs,
    memoryBytes: memoryMb * 1048576,
    maxRequestBytes: within(requested.max_request_bytes, config.maxRequestBytes, config.maxRequestBytes),
    maxResponseBytes: within(requested.max_response_bytes, config.maxResponseBytes, config.maxResponseBytes),
    maxEgressBytes: within(requested.max_egress_bytes, config.maxEgressBytes, config.maxEgressBytes),
    egressTimeoutMs: Math.min(config.egressTimeoutMs, timeoutMs),
    maxStorageKeys: within(requested.max_storage_keys, config.maxStorageKeys, config.maxStorageKeys),
    maxStorageBytes: within(requested.max_storage_bytes, config.maxStorageBytes, config.maxStorageBytes),
    maxStorageValueBytes: config.maxStorageValueBytes,
    maxLogEvents: config.maxLogEventsPerExecution,
    maxStdioBytes: config.maxStdioBytesPerExecution,
    maxDebugEvents: config.maxDebugEventsPerExecution,
    maxDenials: config.maxDenialsPerExecution,
  };
}
