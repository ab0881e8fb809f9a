import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError, type ErrorCode } from '../../lib/errors/index.ts';
import { storageErrorOf } from '../../lib/storage-faults.ts';

/** The one error body: `{error:{code,message}, request_id}`. */
export function errorBody(error: AlgaError, requestId: string) {
  return { error: { code: error.code, message: error.message }, request_id: requestId };
}

/** What a 429 says in `Retry-After` when whatever refused the request did not say how long to wait. */
export const defaultRetryAfterSeconds = 60;
/** What a 503 says in `Retry-After` when Redis, which counts a fleet's limits, did not answer. */
const fleetOutageRetryAfterSeconds = 5;

/**
 * The error `@fastify/rate-limit` throws when a route's limit is used up (the host registers it
 * with this builder). It ignores the limiter's 403 "ban" status on purpose: every rate-limit
 * answer is a 429. The limiter has already set `Retry-After` on the reply.
 */
export function rateLimitError(): AlgaError {
  return new AlgaError('E_RATE_LIMITED');
}

/** fastify's `frameworkErrors`: a URL it cannot decode (`%ZZ`) gets the one error body, not fastify's own. */
export function badUrlError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const detail = error.code === 'FST_ERR_BAD_URL' ? 'The URL has an invalid percent-encoding.' : 'The request could not be routed.';
  reply.status(400).header('x-request-id', request.id).send(errorBody(new AlgaError('E_REQUEST_INVALID', detail), request.id));
}

/**
 * What Node's HTTP parser refuses before fastify sees a request (fastify's `clientErrorHandler`):
 * the one error body with a catalog code and a fresh request id, then the connection is closed.
 * A reset connection gets nothing (there is no one to answer).
 */
export function clientErrorAnswer(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const code: ErrorCode = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'E_REQUEST_TIMEOUT' : error.code === 'HPE_HEADER_OVERFLOW' ? 'E_REQUEST_HEADERS_TOO_LARGE' : 'E_REQUEST_INVALID';
  const alga = new AlgaError(code);
  const requestId = randomUUID();
  const body = JSON.stringify(errorBody(alga, requestId));
  const reason = alga.status === 408 ? 'Request Timeout' : alga.status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  // Headers may not have been read yet, so there may be no request to answer: write the response whole,
  // unless a response has already begun on this connection (writing another would corrupt it).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    socket.end(`HTTP/1.1 ${alga.status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
  }
  socket.destroySoon();
}

/** Maps any thrown error to a catalog error; unexpected ones are logged and answered without detail. */
function toAlgaError(error: FastifyError | AlgaError, log: FastifyBaseLogger, dataDir: string | undefined, contentType?: string): AlgaError {
  if (error instanceof AlgaError) return error;
  const storage = storageErrorOf(error, dataDir);
  if (storage) {
    log.error({ err: error, code: storage.code }, 'the disk refused a write');
    return storage;
  }
  const statusCode = (error as Partial<FastifyError> | undefined)?.statusCode;
  // A 429 from any limiter (a route's own errorResponseBuilder may return a plain error or object).
  if (statusCode === 429) return new AlgaError('E_RATE_LIMITED');
  if (error?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return new AlgaError('E_BODY_TOO_LARGE');
  // `curl -d` without `-H 'content-type: application/json'` sends a form body.
  if (error?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return new AlgaError('E_REQUEST_MEDIA_TYPE', contentType ? `It was sent as ${contentType.split(';')[0].trim().slice(0, 100)}.` : 'It was sent without a content-type.');
  if (error instanceof SyntaxError && statusCode === 400) return new AlgaError('E_REQUEST_INVALID', 'The body is not valid JSON.');
  if (error?.validation || (typeof statusCode === 'number' && statusCode >= 400 && statusCode < 500)) {
    // fastify's own request errors (validation, media type, malformed body): their messages name the problem.
    return new AlgaError('E_REQUEST_INVALID', error.message);
  }
  log.error({ err: error }, 'unhandled error');
  return new AlgaError('E_INTERNAL');
}

/**
 * The host's one error handler. Every answer it sends is `{error:{code,message}, request_id}`
 * with the catalog's status, and every 429 carries `Retry-After`. A write the disk refused
 * (anywhere, in or outside a store transaction) is E_STORAGE_FULL 507 / E_STORAGE_FAILED 500;
 * `dataDir` tells an I/O error on a full disk from another.
 */
export function installErrorHandler(app: FastifyInstance, options: { dataDir?: string } = {}): void {
  app.setErrorHandler((error: FastifyError | AlgaError, request, reply) => {
    const alga = toAlgaError(error, request.log, options.dataDir, request.headers['content-type']);
    if (alga.status >= 500 && error instanceof AlgaError) request.log.warn({ code: alga.code }, alga.message);
    if (alga.status === 429 && !reply.hasHeader('retry-after')) reply.header('retry-after', String(defaultRetryAfterSeconds));
    if (alga.code === 'E_RATE_LIMIT_UNAVAILABLE') reply.header('retry-after', String(fleetOutageRetryAfterSeconds));
    reply.status(alga.status).send(errorBody(alga, request.id));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody(new AlgaError('E_NOT_FOUND', `${request.method} ${request.url.split('?')[0]}`), request.id));
  });
}
