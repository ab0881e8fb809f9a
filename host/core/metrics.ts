import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface HostMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  runnerRestarts: Counter<string>;
  /** 1 while a warm spare runner waits to take over (host/core/runner/child.ts). */
  runnerSpareReady: Gauge<string>;
}

export function createHostMetrics(): HostMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alga_host_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'alga_host_http_request_duration_seconds',
      help: 'Host HTTP request duration by route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [registry],
    }),
    runnerRestarts: new Counter({ name: 'alga_host_runner_restarts_total', help: 'Times the runner child process was restarted.', registers: [registry] }),
    runnerSpareReady: new Gauge({ name: 'alga_host_runner_spare_ready', help: '1 while a warm spare runner waits to take over from the runner child.', registers: [registry] }),
  };
}
