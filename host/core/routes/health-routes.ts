import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { RunnerHandle } from '../runner/handle.ts';

/** /healthz: the process answers. /readyz: plugins loaded and the runner answers. /metrics: Prometheus. */
export function registerHealthRoutes(app: FastifyInstance, options: { runner: RunnerHandle; metrics: Registry; pluginsReady: () => boolean }): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = { plugins: options.pluginsReady(), runner: options.runner.isReady() };
    const ready = checks.plugins && checks.runner;
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks });
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.metrics();
  });
}
