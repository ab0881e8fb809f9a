import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RunnerHandle } from '../runner/handle.ts';

/**
 * /healthz: the process answers. /readyz: plugins loaded and the runner answers (and, on a fleet
 * node, each shared database in `checks`: PostgreSQL, Redis). /metrics: Prometheus.
 */
export function registerHealthRoutes(app: FastifyInstance, options: { runner: RunnerHandle; metrics: Registry; pluginsReady: () => boolean; checks?: Record<string, () => boolean> }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks: Record<string, boolean> = { plugins: options.pluginsReady(), runner: options.runner.isReady() };
    for (const [name, check] of Object.entries(options.checks ?? {})) checks[name] = check();
    const ready = Object.values(checks).every(Boolean);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });
}
