import type { Capability, Manifest, WitInterface } from '../../lib/bundle/index.ts';
import type { EffectiveLimits } from '../limits.ts';
import type { InstallSecrets } from '../prepared-installs.ts';

/** One WIT `host-error` case; thrown by a factor function, returned to the guest as `err`. */
export class HostError {
  constructor(
    readonly tag: 'denied' | 'not-found' | 'invalid' | 'limit' | 'unavailable',
    readonly val: string,
  ) {}
}

export interface Denial {
  capability: string;
  reason: string;
}

/** Everything a host call may know about the execution it serves. */
export interface ExecutionScope {
  requestId: string;
  tenantId: string;
  extensionId: string;
  installId: string;
  version: string;
  contentHash: string;
  manifest: Manifest;
  /** Capabilities granted on the install. */
  providers: ReadonlySet<string>;
  /** Egress hosts allowed by the install. */
  installEgress: readonly string[];
  limits: EffectiveLimits;
  /** The install's sealed secrets (opened values are kept with the prepared install). */
  secrets?: InstallSecrets;
  uiProxyRouteBase?: string;
  /** Aborted when the execution ends early (deadline, trap). */
  signal: AbortSignal;
  /** Counted into the execution record. */
  usage: { egressBytes: number; hostCalls: number; logEvents: number; denials: Denial[]; denialsDropped: number; debugEvents: number; debugEventsDropped: number };
  /** Records a refusal everywhere it must appear (record, debug stream, metric) and returns the error to throw. */
  deny(capability: string, reason: string): HostError;
  /** Emits a debug event tagged with the execution, within its budget (`limits.maxDebugEvents`); false when the budget is spent. */
  debugEvent(level: 'debug' | 'info' | 'warn' | 'error', stream: 'stdout' | 'stderr' | 'log', message: string, truncated?: boolean): boolean;
}

export type HostFunction = (scope: ExecutionScope, args: unknown[]) => unknown | Promise<unknown>;

/**
 * A capability "factor": its grant, its WIT functions, its limits and its metrics together.
 * The dispatcher checks the grant before any function runs.
 */
export interface CapabilityFactor {
  capability: Capability;
  iface: WitInterface;
  functions: Record<string, HostFunction>;
  /**
   * Called after the guest answered, before the answer leaves the runner, which waits for it:
   * e.g. until the execution's storage writes are durable. Throw an AlgaError to answer it instead.
   */
  settle?(scope: ExecutionScope): Promise<void> | void;
  /** Counts into the factor's metrics `count` calls of `fn` that a guest worker answered itself. */
  countServedElsewhere?(fn: string, result: string, count: number): void;
  close?(): Promise<void> | void;
}
