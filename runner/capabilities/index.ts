import { Counter, type Registry } from 'prom-client';
import type { CapabilityFactor, ExecutionScope } from './factor.ts';
import { HostError } from './factor.ts';
import { storageFaultOf } from '../../lib/storage-faults.ts';

export { HostError, type CapabilityFactor, type ExecutionScope } from './factor.ts';

/**
 * Routes a guest's `alga:extension/*` call to its factor, after the grant check (deny by default).
 */
export class CapabilityDispatcher {
  private readonly byInterface = new Map<string, CapabilityFactor>();
  private readonly calls: Counter;

  constructor(
    factors: CapabilityFactor[],
    registry: Registry,
  ) {
    for (const factor of factors) this.byInterface.set(factor.iface, factor);
    this.calls = new Counter({ name: 'runner_host_calls_total', help: 'Guest host calls by capability.', labelNames: ['capability'], registers: [registry] });
  }

  async call(scope: ExecutionScope, iface: string, fn: string, args: unknown[]): Promise<unknown> {
    const factor = this.byInterface.get(iface);
    const implementation = factor && Object.prototype.hasOwnProperty.call(factor.functions, fn) ? factor.functions[fn] : undefined;
    if (!factor || !implementation) throw new HostError('invalid', `The runner does not implement ${iface}.${fn}.`);
    scope.usage.hostCalls++;
    this.calls.inc({ capability: factor.capability });
    if (!scope.providers.has(factor.capability)) throw scope.deny(factor.capability, `The install was not granted ${factor.capability}.`);
    try {
      return await implementation(scope, args);
    } catch (error) {
      // A write the runner's disk refused is something the guest can handle (and retry), not a crash.
      if (!(error instanceof HostError) && storageFaultOf(error)) throw new HostError('unavailable', 'The runner\'s disk is full or failing; nothing was written. Retry later.');
      throw error;
    }
  }

  /**
   * Counts host calls a guest worker answered itself (keyed `iface.function:result`, see
   * runner/storage/worker-reads.ts) as if they had come here: the execution's host calls and the metrics.
   */
  countServedInWorker(scope: ExecutionScope, served: Record<string, number> | undefined): void {
    for (const [call, count] of Object.entries(served ?? {})) {
      const match = /^([a-z-]+)\.([A-Za-z]+):([a-z-]+)$/.exec(call);
      const factor = match && this.byInterface.get(match[1]);
      if (!factor || !Number.isSafeInteger(count) || count <= 0) continue;
      scope.usage.hostCalls += count;
      this.calls.inc({ capability: factor.capability }, count);
      factor.countServedElsewhere?.(match[2], match[3], count);
    }
  }

  /** Lets every factor finish what the execution's answer must wait for (see CapabilityFactor.settle). */
  async settle(scope: ExecutionScope): Promise<void> {
    for (const factor of this.byInterface.values()) await factor.settle?.(scope);
  }

  async close(): Promise<void> {
    for (const factor of this.byInterface.values()) await factor.close?.();
  }
}
