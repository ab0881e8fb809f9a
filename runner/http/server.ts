import { timingSafeEqual, createHash, hash } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import type { ExecutionRecord, Runner } from '../runner.ts';
import { sendError } from './errors.ts';
import { registerExtUi } from './ext-ui.ts';
import { registerPrepare } from './prepare.ts';
import { registerStorageAdmin } from './storage-admin.ts';
import { decodeExecuteFrame, encodeExecuteFrame, executeFrameType } from '../../lib/execute-frame.ts';
import { executeAnswerJson, executionFigures, parseExecuteJson } from './execute-json.ts';
import { serveExecuteChannels } from './channel.ts';

/** sha256 (the one-shot form where Node has it: no Hash object per request). */
const digest = (value: string): Buffer => (typeof hash === 'function' ? hash('sha256', value, 'buffer') : createHash('sha256').update(value).digest());

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
function tokenMatches(header: string | undefined, expectedDigest: Buffer): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7) : '';
  return timingSafeEqual(digest(presented), expectedDigest);
}

/** The runner's HTTP API around a Runner: execute (also as a channel), ext-ui, metrics, health, debug events. */
export function buildRunnerApp(runner: Runner): FastifyInstance {
  const token = runner.config.serviceToken;
  if (!token) throw new AlgaError('E_RUNNER_CONFIG_INVALID', 'RUNNER_SERVICE_TOKEN is required to serve HTTP.');
  const maxBody = Math.ceil((runner.config.limits.maxRequestBytes * 4) / 3) + 256 * 1024;
  const app = Fastify({
    logger: runner.config.logger ? { level: runner.config.logLevel, redact: ['req.headers.authorization'] } : false,
    // A line per request (and per execution) only when asked for, and never for health probes.
    logController: new LogController({ disableRequestLogging: (request) => !runner.config.logRequests || request.url === '/healthz' }),
    bodyLimit: maxBody,
  });

  // A plain JSON.parse, without fastify's __proto__ scan (slow on megabyte bodies): only the host
  // (holding the service token) calls here and no body is merged into an object.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, raw, done) => {
    try {
      done(null, parseExecuteJson(raw as Buffer));
    } catch (error) {
      done(Object.assign(new Error(`The body is not valid JSON: ${(error as Error).message}`), { statusCode: 400 }), undefined);
    }
  });

  // The binary form (lib/execute-frame.ts): the envelope, then the raw body, no base64.
  app.addContentTypeParser(executeFrameType, { parseAs: 'buffer' }, (_request, raw, done) => {
    try {
      done(null, { frame: decodeExecuteFrame(raw as Buffer) });
    } catch (error) {
      done(Object.assign(error as Error, { statusCode: 400 }), undefined);
    }
  });

  const tokenDigest = digest(token);
  // A callback hook, not an async one: no promise per request.
  function requireToken(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    if (tokenMatches(request.headers.authorization, tokenDigest)) return done();
    sendError(reply, new AlgaError('E_RUNNER_UNAUTHORIZED'));
  }

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
    if (error.statusCode === 413) return sendError(reply, new AlgaError('E_RUNNER_REQUEST_TOO_LARGE'));
    if (isAlgaError(error) && error.status < 500) return sendError(reply, error);
    if (error.statusCode && error.statusCode < 500) return sendError(reply, new AlgaError('E_RUNNER_BAD_REQUEST', error.message));
    return sendError(reply, error);
  });

  app.post('/v1/execute', { onRequest: requireToken }, async (request, reply) => {
    const frame = (request.body as { frame?: ReturnType<typeof decodeExecuteFrame> } | undefined)?.frame;
    const result = frame ? await runner.execute(frame.envelope, frame.body) : await runner.execute(request.body);
    if (!result.ok) return sendError(reply, result.error, result.requestId, result.retryAfterSeconds, result.execution && executionFigures(result.execution));
    if (String(request.headers.accept ?? '').includes(executeFrameType)) {
      const [head, body] = encodeExecuteFrame({ status: result.status, headers: result.headers, execution: executionFigures(result.execution) }, result.body);
      return reply.type(executeFrameType).send(Buffer.concat([head, body], head.length + body.length));
    }
    return reply.type('application/json; charset=utf-8').send(executeAnswerJson(result));
  });

  registerPrepare(app, runner, requireToken);

  app.get('/v1/debug/events', { onRequest: requireToken }, async (request, reply) => {
    const query = request.query as { tenant?: string; extension?: string; after?: string };
    const filter = { tenant: query.tenant || undefined, extension: query.extension || undefined, after: query.after ? Number(query.after) : undefined };
    if (!String(request.headers.accept ?? '').includes('text/event-stream')) return reply.send({ events: runner.events.recent(filter) });
    if (request.method === 'HEAD') return reply.type('text/event-stream').send(); // the headers of the stream, without keeping it open
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    raw.write(': connected\n\n');
    const write = (event: { id: number }) => raw.write(`id: ${event.id}\ndata: ${JSON.stringify(event)}\n\n`);
    for (const event of runner.events.recent(filter)) write(event);
    const onEvent = (event: { id: number; tenant: string; extension: string }) => {
      if ((!filter.tenant || event.tenant === filter.tenant) && (!filter.extension || event.extension === filter.extension)) write(event);
    };
    runner.events.on('event', onEvent);
    const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), 15_000);
    request.raw.on('close', () => {
      clearInterval(heartbeat);
      runner.events.off('event', onEvent);
    });
  });

  // The execute channel: one kept-open connection, many calls in flight (lib/execute-frame.ts).
  const channels = serveExecuteChannels(app.server, runner, { authorized: (authorization) => tokenMatches(authorization, tokenDigest) });
  app.addHook('preClose', () => channels.close());

  app.get('/metrics', async (_request, reply) => reply.header('content-type', runner.registry.contentType).send(await runner.registry.metrics()));
  app.get('/healthz', async () => ({ status: 'ok', workers: runner.workers, boot_id: runner.bootId }));
  registerExtUi(app, runner);
  registerStorageAdmin(app, runner, requireToken);

  if (runner.config.logger) {
    runner.on('execution', (execution: ExecutionRecord) => {
      if (runner.config.logRequests) app.log.info({ execution: { ...execution, denials: execution.denials.length } }, 'execution');
      else if (execution.outcome !== 'ok' && execution.outcome !== 'rejected') app.log.warn({ execution: { ...execution, denials: execution.denials.length } }, 'execution failed');
    });
  }
  return app;
}
