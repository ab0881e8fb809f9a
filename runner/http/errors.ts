import type { FastifyReply } from 'fastify';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';

/**
 * Sends `{error: {code, message}, request_id?}` with the catalog's status, and for a failed
 * execution its figures (`execution`: duration, memory, denials…) so the host can log the cause.
 */
export function sendError(reply: FastifyReply, error: unknown, requestId?: string, retryAfterSeconds?: number, execution?: unknown): FastifyReply {
  const known = isAlgaError(error) ? error : new AlgaError('E_RUNNER_INTERNAL');
  if (!isAlgaError(error)) reply.log.error({ err: error }, 'unexpected runner error');
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(retryAfterSeconds));
  return reply.code(known.status).send({ error: known.toJSON(), ...(requestId ? { request_id: requestId } : {}), ...(execution ? { execution } : {}) });
}
