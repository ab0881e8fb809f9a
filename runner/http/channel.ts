import type { IncomingMessage, Server } from 'node:http';
import type { Socket } from 'node:net';
import { Gauge, Counter } from 'prom-client';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import { ChannelFrame, ChannelFrameReader, channelPath, channelProtocol, decodeExecuteFrame, encodeChannelFrame } from '../../lib/execute-frame.ts';
import { FrameWriter } from '../../lib/frame-writer.ts';
import type { ExecuteResult, Runner } from '../runner.ts';
import { executionFigures } from './execute-json.ts';

export interface ExecuteChannelOptions {
  /** True when the `authorization` header carries the service token. */
  authorized(authorization: string | undefined): boolean;
  /** Calls one connection may have running; past it the runner stops reading that connection until one ends. */
  maxInFlightPerConnection?: number;
}

export interface ExecuteChannels {
  /** Open connections. */
  readonly size: number;
  /**
   * Tells every connection the runner is closing (goaway), answers the calls still running, then
   * ends the connections; calls arriving meanwhile are answered E_RUNNER_SHUTTING_DOWN.
   */
  close(timeoutMs?: number): Promise<void>;
}

const defaultMaxInFlight = 1024;
/** The largest envelope a frame may carry besides its body. */
const maxEnvelopeBytes = 1048576;

/**
 * The execute channel (lib/execute-frame.ts) on the runner's HTTP server: `GET /v1/channel`
 * upgraded with the service token, then execute frames in, answer and failure frames out, many
 * calls in flight on one connection. A connection's failure ends only that connection.
 */
export function serveExecuteChannels(server: Server, runner: Runner, options: ExecuteChannelOptions): ExecuteChannels {
  const connections = new Set<ChannelConnection>();
  const maxFrameBytes = runner.config.limits.maxRequestBytes + maxEnvelopeBytes;
  const maxInFlight = options.maxInFlightPerConnection ?? defaultMaxInFlight;
  let closing = false;
  new Gauge({
    name: 'runner_channel_connections',
    help: 'Open execute channel connections.',
    registers: [runner.registry],
    collect(this: Gauge) {
      this.set(connections.size);
    },
  });
  const refusedFrames = new Counter({ name: 'runner_channel_frames_refused_total', help: 'Channel frames refused (malformed, unknown kind, too large).', labelNames: ['reason'], registers: [runner.registry] });

  server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const path = (request.url ?? '').split('?', 1)[0];
    if (path !== channelPath || String(request.headers.upgrade ?? '').toLowerCase() !== channelProtocol) {
      return refuseUpgrade(socket, new AlgaError('E_RUNNER_BAD_REQUEST', `Only ${channelPath} upgrades, to ${channelProtocol}.`));
    }
    if (!options.authorized(request.headers.authorization)) return refuseUpgrade(socket, new AlgaError('E_RUNNER_UNAUTHORIZED'));
    if (closing) return refuseUpgrade(socket, new AlgaError('E_RUNNER_SHUTTING_DOWN'));
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${channelProtocol}\r\n\r\n`);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 15_000);
    const connection = new ChannelConnection(socket, runner, maxFrameBytes, maxInFlight, (reason) => refusedFrames.inc({ reason }));
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
    if (head.length > 0) connection.receive(head);
  });

  return {
    get size() {
      return connections.size;
    },
    async close(timeoutMs = 10_000) {
      closing = true;
      const ended = [...connections].map((connection) => connection.goAway());
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(ended), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
      clearTimeout(timer);
      for (const connection of connections) connection.destroy();
    },
  };
}

function refuseUpgrade(socket: Socket, error: AlgaError): void {
  const body = JSON.stringify({ error: error.toJSON() });
  const reason = error.status === 401 ? 'Unauthorized' : error.status === 503 ? 'Service Unavailable' : 'Bad Request';
  socket.end(`HTTP/1.1 ${error.status} ${reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** One upgraded connection: frames in, executions, frames out; reading pauses while it is saturated. */
class ChannelConnection {
  private readonly reader: ChannelFrameReader;
  private readonly writer: FrameWriter;
  private inFlight = 0;
  private readingPaused = false;
  private closing = false;
  private drained?: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly runner: Runner,
    maxFrameBytes: number,
    private readonly maxInFlight: number,
    private readonly refused: (reason: string) => void,
  ) {
    this.writer = new FrameWriter(socket);
    this.reader = new ChannelFrameReader(maxFrameBytes, {
      frame: (kind, callId, payload) => this.onFrame(kind, callId, payload),
      oversize: (_kind, callId, bytes) => {
        this.refused('too-large');
        this.fail(callId, new AlgaError('E_RUNNER_REQUEST_TOO_LARGE', `The frame holds ${bytes} bytes; at most ${maxFrameBytes} are read.`));
      },
      broken: (reason) => {
        this.refused('broken');
        this.socket.destroy(new Error(reason));
      },
    });
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('drain', () => this.updateReading());
    socket.once('close', () => this.drained?.());
  }

  receive(bytes: Buffer): void {
    this.reader.push(bytes);
  }

  goAway(): Promise<void> {
    this.closing = true;
    this.writer.write(encodeChannelFrame(ChannelFrame.goaway, 0, {}));
    return new Promise((resolve) => {
      this.drained = resolve;
      this.endIfDone();
    });
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onFrame(kind: number, callId: number, payload: Buffer): void {
    if (kind === ChannelFrame.ping) return this.writer.write(encodeChannelFrame(ChannelFrame.pong, callId, {}));
    if (kind !== ChannelFrame.execute) {
      this.refused('kind');
      return this.fail(callId, new AlgaError('E_RUNNER_BAD_REQUEST', `Frame kind ${kind} is not one a client sends.`));
    }
    let frame: ReturnType<typeof decodeExecuteFrame>;
    try {
      frame = decodeExecuteFrame(payload);
    } catch (error) {
      this.refused('malformed');
      return this.fail(callId, isAlgaError(error) ? error : new AlgaError('E_RUNNER_BAD_REQUEST'));
    }
    if (this.closing) return this.fail(callId, new AlgaError('E_RUNNER_SHUTTING_DOWN'));
    this.inFlight++;
    this.updateReading();
    void this.runner.execute(frame.envelope, frame.body).then((result) => {
      this.inFlight--;
      this.answer(callId, result);
      this.updateReading();
      this.endIfDone();
    });
  }

  private answer(callId: number, result: ExecuteResult): void {
    if (this.socket.destroyed) return;
    if (!result.ok) return this.fail(callId, result.error, result.requestId, result.retryAfterSeconds, result.execution && executionFigures(result.execution));
    this.writer.write(encodeChannelFrame(ChannelFrame.answer, callId, { status: result.status, headers: result.headers, execution: executionFigures(result.execution) }, result.body));
  }

  /** The failure `POST /v1/execute` would have answered: status, catalog error, request id, Retry-After, and the execution's figures once it ran. */
  private fail(callId: number, error: AlgaError, requestId?: string, retryAfterSeconds?: number, execution?: unknown): void {
    if (this.socket.destroyed) return;
    const envelope = {
      status: error.status,
      error: error.toJSON(),
      ...(requestId ? { request_id: requestId } : {}),
      ...(retryAfterSeconds !== undefined ? { retry_after: retryAfterSeconds } : {}),
      ...(execution ? { execution } : {}),
    };
    this.writer.write(encodeChannelFrame(ChannelFrame.failure, callId, envelope));
  }

  /** Reads while fewer than the limit run and the client takes its answers. */
  private updateReading(): void {
    const pause = this.inFlight >= this.maxInFlight || this.writer.full;
    if (pause && !this.readingPaused) this.socket.pause();
    else if (!pause && this.readingPaused) this.socket.resume();
    this.readingPaused = pause;
  }

  private endIfDone(): void {
    if (!this.closing || this.inFlight > 0 || !this.drained) return;
    this.writer.flush();
    this.socket.end();
  }
}
