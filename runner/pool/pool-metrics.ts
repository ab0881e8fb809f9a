import { Counter, Gauge, type Registry } from 'prom-client';
import type { PoolStats } from './worker-pool.ts';

/** The pool's figures as Prometheus metrics, read from the workers' shared cells when scraped. */
export function registerPoolMetrics(registry: Registry, stats: () => PoolStats): void {
  new Gauge({
    name: 'runner_guest_instances',
    help: 'Guest instances the workers hold.',
    registers: [registry],
    collect(this: Gauge) {
      this.set(stats().instances);
    },
  });
  new Gauge({
    name: 'runner_guest_instance_memory_bytes',
    help: 'Linear memory of the guest instances the workers hold, plus their snapshots (bounded by instanceMemoryMb per worker).',
    registers: [registry],
    collect(this: Gauge) {
      this.set(stats().instanceMemoryBytes);
    },
  });
  new Gauge({
    name: 'runner_pool_queued',
    help: 'Executions waiting for a worker.',
    registers: [registry],
    collect(this: Gauge) {
      this.set(stats().queued);
    },
  });
  const counted = { instantiations: 0, tenantSwitches: 0 };
  const counter = (name: string, help: string, field: keyof typeof counted) =>
    new Counter({
      name,
      help,
      registers: [registry],
      collect(this: Counter) {
        const total = stats()[field];
        if (total > counted[field]) this.inc(total - counted[field]);
        counted[field] = Math.max(counted[field], total);
      },
    });
  counter('runner_guest_instantiations_total', 'Guest instances created.', 'instantiations');
  counter('runner_guest_tenant_switches_total', 'Guest instances reset to their start snapshot and handed to another tenant.', 'tenantSwitches');
}
