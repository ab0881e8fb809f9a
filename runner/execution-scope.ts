import type { Counter } from 'prom-client';
import type { Manifest } from '../lib/bundle/index.ts';
import { HostError, type Denial, type ExecutionScope } from './capabilities/factor.ts';
import type { DebugEvents } from './debug/events.ts';
import type { ExecuteCall } from './execute-request.ts';
import type { EffectiveLimits } from './limits.ts';
import type { InstallSecrets, PreparedInstall } from './prepared-installs.ts';

type Level = 'debug' | 'info' | 'warn' | 'error';
type Stream = 'stdout' | 'stderr' | 'log';

/**
 * The scope host calls of one execution see: who runs, with which grants and limits, what it
 * used so far. A class rather than an object of closures: one is made for every execution.
 */
export class Execution implements ExecutionScope {
  readonly tenantId: string;
  readonly extensionId: string;
  readonly installId: string;
  readonly version: string;
  readonly contentHash: string;
  readonly installEgress: readonly string[];
  readonly secrets?: InstallSecrets;
  readonly uiProxyRouteBase?: string;
  readonly usage: { egressBytes: number; hostCalls: number; logEvents: number; denials: Denial[]; denialsDropped: number; debugEvents: number; debugEventsDropped: number } = {
    egressBytes: 0, hostCalls: 0, logEvents: 0, denials: [], denialsDropped: 0, debugEvents: 0, debugEventsDropped: 0,
  };
  private controller?: AbortController;

  constructor(
    call: ExecuteCall,
    readonly requestId: string,
    readonly manifest: Manifest,
    install: PreparedInstall,
    readonly limits: EffectiveLimits,
    /** The install's grants that the manifest declares (the bundle check keeps imports within those). */
    readonly providers: ReadonlySet<string>,
    private readonly events: DebugEvents,
    private readonly denialCounter: Counter,
  ) {
    const { context } = call;
    this.tenantId = context.tenant_id;
    this.extensionId = context.extension_id;
    this.installId = context.install_id;
    this.version = context.version;
    this.contentHash = context.content_hash;
    this.installEgress = install.egress;
    this.secrets = install.secrets;
    this.uiProxyRouteBase = install.uiProxyRouteBase;
  }

  /** Made only when a host call asks for it. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** Stops the host calls still running for this execution. */
  abort(): void {
    this.controller?.abort();
  }

  deny(capability: string, reason: string): HostError {
    if (this.usage.denials.length < this.limits.maxDenials) this.usage.denials.push({ capability, reason });
    else this.usage.denialsDropped++;
    this.denialCounter.inc({ capability });
    this.debugEvent('warn', 'log', `denied ${capability}: ${reason}`);
    return new HostError('denied', reason);
  }

  debugEvent(level: Level, stream: Stream, message: string, truncated = false): boolean {
    if (this.usage.debugEvents >= this.limits.maxDebugEvents) {
      this.usage.debugEventsDropped++;
      return false;
    }
    this.usage.debugEvents++;
    this.emit(level, stream, message, truncated);
    return true;
  }

  /** A debug event outside the execution's budget (the runner's own account of how it ended). */
  emit(level: Level, stream: Stream, message: string, truncated = false): void {
    this.events.emitEvent({
      level,
      stream,
      tenant: this.tenantId,
      extension: this.extensionId,
      install: this.installId,
      request: this.requestId,
      version: this.version,
      content_hash: this.contentHash,
      message,
      truncated,
    });
  }
}
