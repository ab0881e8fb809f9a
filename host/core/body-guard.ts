import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * How request bodies arrive at the host, for every route:
 *
 * - A body is read only once the route has accepted the request — credentials are checked in
 *   `onRequest` hooks, so a refused request's body is never read — and a client that sent
 *   `Expect: 100-continue` is told to send its body only then (after the length check, too).
 * - A body that arrives slower than `minBytesPerSecond` on average, once `graceMs` have passed,
 *   is cut: 408 E_REQUEST_TIMEOUT, and the connection is closed.
 * - An answer sent before the body was read whole closes the connection, so a client cannot keep
 *   a refused request's body trickling in. The close lingers (`lingerMs`): the host stops
 *   writing, reads and discards what the client is still sending for a moment, then closes —
 *   closing at once with unread bytes would send a reset that can destroy the answer before the
 *   client reads it.
 *
 * Node's own `requestTimeout` (set on the server) bounds a whole request besides.
 */

export interface BodyGuardOptions {
  minBytesPerSecond: number;
  graceMs: number;
  /** How often bodies in flight are checked (1 s). */
  checkIntervalMs?: number;
}

/** A request's body as fastify's parsers read it: bytes counted, pulled from the socket only once a parser asks. */
class GuardedBody extends Readable {
  received = 0;
  readonly started = performance.now();
  private flowing = false;

  constructor(private readonly source: IncomingMessage, private readonly onFirstRead: () => void) {
    super();
    // A parser that gave up on the body (too large) no longer listens; an abort or a cut after that
    // must not become an uncaught 'error' that takes the host down. Listeners that remain still get it.
    this.on('error', () => {});
    source.once('error', (error) => this.destroy(error));
    source.once('close', () => {
      if (!source.complete) this.destroy(Object.assign(new Error('The client closed the connection before the body was complete.'), { code: 'ECONNRESET' }));
    });
  }

  override _read(): void {
    if (!this.flowing) {
      this.flowing = true;
      this.onFirstRead();
      this.source.on('data', (chunk: Buffer) => {
        this.received += chunk.length;
        if (!this.push(chunk)) this.source.pause();
      });
      this.source.once('end', () => this.push(null));
    }
    this.source.resume();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.source.pause();
    this.source.removeAllListeners('data');
    callback(error);
  }

  /** Average bytes per second since the request came in. */
  rate(now: number): number {
    return (this.received * 1000) / Math.max(1, now - this.started);
  }
}

/** How long a connection closed after an early answer keeps reading (and discarding) before it is destroyed. */
const lingerMs = 2000;

/** Node calls `destroySoon` once the last answer on a `Connection: close` socket is written: end our side first, destroy later. */
function lingerBeforeClosing(socket: Socket): void {
  socket.destroySoon = function lingeringClose(this: Socket) {
    if (this.writable) this.end();
    const destroy = () => this.destroy();
    const timer = setTimeout(destroy, lingerMs);
    timer.unref();
    this.once('end', destroy); // the client is done sending (its FIN): nothing unread is left
    this.once('close', () => clearTimeout(timer));
  };
}

function declaresBody(request: IncomingMessage): boolean {
  const length = request.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return request.headers['transfer-encoding'] !== undefined;
}

export function installBodyGuard(app: FastifyInstance, options: BodyGuardOptions): void {
  const watched = new Set<GuardedBody>();
  const timer = setInterval(() => {
    const now = performance.now();
    for (const body of watched) {
      if (body.destroyed || body.readableEnded) {
        watched.delete(body);
      } else if (now - body.started >= options.graceMs && body.rate(now) < options.minBytesPerSecond) {
        watched.delete(body);
        body.destroy(new AlgaError('E_REQUEST_TIMEOUT', `The body arrived at less than ${options.minBytesPerSecond} bytes a second.`));
      }
    }
  }, options.checkIntervalMs ?? 1000);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  // With a `checkContinue` listener Node no longer answers `100 Continue` by itself; the body's
  // first read does (below), after the route's hooks and the length check have passed.
  const server = app.server as Server;
  server.on('checkContinue', (request, response) => server.emit('request', request, response));

  app.addHook('preParsing', (request, reply, payload, done) => {
    if (!declaresBody(request.raw) || payload !== request.raw) return done(null, payload);
    const wantsContinue = String(request.headers.expect ?? '').toLowerCase() === '100-continue';
    const body = new GuardedBody(request.raw, () => {
      if (wantsContinue && !reply.raw.headersSent) reply.raw.writeContinue();
    });
    watched.add(body);
    done(null, body);
  });

  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete && declaresBody(request.raw)) {
      reply.header('connection', 'close');
      lingerBeforeClosing(request.raw.socket);
    }
    done(null, payload);
  });
}
