import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { AlgaError } from '../../lib/errors/index.ts';
import type { Runner } from '../runner.ts';
import { sendError } from './errors.ts';

/**
 * `POST /v1/prepare {content_hash, limits?: {memory_mb}}` (service token): verifies, transpiles
 * and compiles a version before its first request, loads its glue in every worker and readies an
 * instance (Runner.prepare). The host calls it when a version is published or installed and
 * when it starts. Answers 200 `{content_hash, memory_mb, duration_ms}` once the version is ready.
 */
export function registerPrepare(app: FastifyInstance, runner: Runner, requireToken: onRequestHookHandler): void {
  app.post('/v1/prepare', { onRequest: requireToken }, async (request, reply) => {
    const body = request.body as { content_hash?: unknown; limits?: { memory_mb?: unknown } | null } | undefined;
    if (typeof body?.content_hash !== 'string') return sendError(reply, new AlgaError('E_RUNNER_BAD_REQUEST', 'content_hash is required (sha256:<64 hex>).'));
    const memoryMb = body.limits?.memory_mb ?? undefined;
    if (memoryMb !== undefined && typeof memoryMb !== 'number') return sendError(reply, new AlgaError('E_RUNNER_BAD_REQUEST', 'limits.memory_mb must be a number.'));
    try {
      return await runner.prepare(body.content_hash, memoryMb);
    } catch (error) {
      return sendError(reply, error);
    }
  });
}
