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

  async close(): Promise<void> {
    for (const factor of this.byInterface.values()) await factor.close?.();
  }
}
