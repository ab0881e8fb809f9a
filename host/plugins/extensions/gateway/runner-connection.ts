import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { isAlgaError } from '../../../../lib/errors/index.ts';
import { ChannelFrame, ChannelFrameReader, channelPath, channelProtocol, decodeExecuteFrame, encodeChannelFrameJson } from '../../../../lib/execute-frame.ts';
import { FrameWriter } from '../../../../lib/frame-writer.ts';

/** What came back for one call on the channel: an answer or a failure frame, decoded. */
export type ChannelReply = { kind: 'answer' | 'failure'; envelope: unknown; body: Buffer };

/**
 * Why a call got no reply: never sent (`unreachable`), sent but the connection dropped (`lost`),
 * no reply before its deadline (`timeout`), or a reply that did not decode (`bad-response`).
 */
export type ChannelLoss = { kind: 'unreachable' | 'lost' | 'timeout' | 'bad-response'; message: string };

/** How the runner answered the upgrade when it did not switch protocols. */
export type UpgradeRefusal = { status: number; body: unknown };

interface PendingCall {
  resolve(reply: ChannelReply): void;
  reject(loss: ChannelLoss): void;
  /** `performance.now()` times. */
  sentAt: number;
  deadline: number;
}

/** Largest answer frame read besides the response body limit. */
const maxEnvelopeBytes = 1048576;
const connectTimeoutMs = 5000;
/** Revisions remembered per connection as sent in full (then forgotten all at once: they are only resent). */
const maxRevisionsRemembered = 8192;
/** A runner that does not answer a ping within this long is taken for gone (the connection is closed). */
const defaultPongTimeoutMs = 5000;

export interface ConnectionOptions {
  maxAnswerBytes: number;
  pongTimeoutMs?: number;
}

/**
 * One upgraded connection to a runner's execute channel. Calls are frames with ids; replies
 * come back in any order. When the connection fails, every call still waiting on it fails with
 * `lost`, and nothing else.
 */
export class RunnerConnection {
  private readonly pending = new Map<number, PendingCall>();
  private readonly writer: FrameWriter;
  private readonly reader: ChannelFrameReader;
  private nextCallId = 1;
  private waitingForDrain: Array<() => void> = [];
  /** One timer for all the calls' deadlines, set for the earliest (a timer per call costs more than the call's frame). */
  private deadlineTimer?: NodeJS.Timeout;
  private deadlineTimerAt = Infinity;
  /** When a frame last came from the runner (`performance.now()`). */
  private lastFrameAt = performance.now();
  private pingTimer?: NodeJS.Timeout;
  /** Install revisions this connection has sent with their fields (the runner prepared them). */
  readonly sentRevisions = new Set<string>();
  /** Set when the connection ended or the runner said it is closing: no new calls. */
  closedReason?: string;

  private readonly pongTimeoutMs: number;

  private constructor(
    private readonly socket: Socket,
    options: ConnectionOptions,
    private readonly onClosed: (connection: RunnerConnection) => void,
  ) {
    this.pongTimeoutMs = options.pongTimeoutMs ?? defaultPongTimeoutMs;
    this.writer = new FrameWriter(socket);
    this.reader = new ChannelFrameReader(options.maxAnswerBytes + maxEnvelopeBytes, {
      frame: (kind, callId, payload) => this.onFrame(kind, callId, payload),
      oversize: (_kind, callId, bytes) => this.settle(callId, undefined, { kind: 'bad-response', message: `the runner sent a ${bytes}-byte answer, above the limit` }),
      broken: (reason) => socket.destroy(new Error(reason)),
    });
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('drain', () => {
      const waiting = this.waitingForDrain;
      this.waitingForDrain = [];
      for (const resume of waiting) resume();
    });
    socket.on('error', () => {});
    socket.once('close', () => this.fail(this.closedReason === 'goaway' ? 'the runner closed the connection after saying it is closing' : 'the connection to the runner closed'));
  }

  /**
   * Opens a channel to `baseUrl`: a connection failure rejects with `unreachable`; a runner that
   * does not switch protocols resolves with its status and body.
   */
  static open(baseUrl: string, token: string, options: ConnectionOptions, onClosed: (connection: RunnerConnection) => void): Promise<RunnerConnection | UpgradeRefusal> {
    const url = new URL(channelPath, `${baseUrl}/`);
    const request = (url.protocol === 'https:' ? httpsRequest : httpRequest) as (url: URL, options: object) => ClientRequest;
    return new Promise((resolve, reject) => {
      let settled = false;
      const req = request(url, { method: 'GET', headers: { connection: 'Upgrade', upgrade: channelProtocol, authorization: `Bearer ${token}` } });
      const timer = setTimeout(() => {
        fail(`no answer to the channel upgrade within ${connectTimeoutMs} ms`);
        req.destroy();
      }, connectTimeoutMs);
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject({ kind: 'unreachable', message } satisfies ChannelLoss);
      };
      req.on('error', (error: NodeJS.ErrnoException) => fail(error.code ?? error.message));
      req.on('upgrade', (response: IncomingMessage, socket: Socket, head: Buffer) => {
        if (settled) return socket.destroy();
        settled = true;
        clearTimeout(timer);
        if (String(response.headers.upgrade ?? '').toLowerCase() !== channelProtocol) {
          socket.destroy();
          return reject({ kind: 'unreachable', message: 'the runner switched to another protocol' } satisfies ChannelLoss);
        }
        socket.setNoDelay(true);
        socket.setKeepAlive(true, 15_000);
        const connection = new RunnerConnection(socket, options, onClosed);
        if (head.length > 0) connection.reader.push(head);
        resolve(connection);
      });
      req.on('response', (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', () => fail('the upgrade answer was cut off'));
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            body = undefined;
          }
          resolve({ status: response.statusCode ?? 502, body });
        });
      });
      req.end();
    });
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /**
   * Sends one execute frame (its envelope already JSON) and waits for its reply until `deadline`
   * (a `performance.now()` time); a reply after that is dropped. While the runner is not reading
   * (the socket's buffer is full) the call waits before it is sent.
   */
  async send(envelopeJson: string, body: Uint8Array, deadline: number): Promise<ChannelReply> {
    while (this.writer.full && !this.closedReason) {
      const drained = new Promise<boolean>((resume) => {
        const timer = setTimeout(() => resume(false), Math.max(0, deadline - performance.now()));
        this.waitingForDrain.push(() => {
          clearTimeout(timer);
          resume(true);
        });
      });
      if (!(await drained)) throw { kind: 'timeout', message: 'the runner was not reading calls before the deadline' } satisfies ChannelLoss;
    }
    if (this.closedReason) throw { kind: 'unreachable', message: this.closedReason } satisfies ChannelLoss;
    const callId = this.nextCallId;
    this.nextCallId = this.nextCallId >= 0xffffffff ? 1 : this.nextCallId + 1;
    const frame = encodeChannelFrameJson(ChannelFrame.execute, callId, envelopeJson, body);
    return new Promise<ChannelReply>((resolve, reject) => {
      this.pending.set(callId, { resolve, reject, sentAt: performance.now(), deadline });
      if (deadline < this.deadlineTimerAt) this.armDeadlines(deadline);
      this.writer.write(frame);
    });
  }

  private armDeadlines(at: number): void {
    clearTimeout(this.deadlineTimer);
    this.deadlineTimerAt = at;
    this.deadlineTimer = setTimeout(this.expire, Math.max(0, Math.ceil(at - performance.now())));
  }

  /** Fails the calls past their deadline, and sets the timer for the next one. */
  private readonly expire = (): void => {
    this.deadlineTimer = undefined;
    this.deadlineTimerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    let silentSince = false;
    for (const [callId, call] of this.pending) {
      if (call.deadline <= now) {
        this.pending.delete(callId);
        call.reject({ kind: 'timeout', message: 'no answer before the deadline' });
        if (this.lastFrameAt < call.sentAt) silentSince = true;
      } else if (call.deadline < next) next = call.deadline;
    }
    if (next < Infinity) this.armDeadlines(next);
    // Nothing at all came back while that call waited: a hung runner or a dead link (TCP would
    // take minutes to notice). One ping decides; without a pong the connection is closed.
    if (silentSince) this.ping();
  };

  private ping(): void {
    if (this.pingTimer || this.closedReason) return;
    const askedAt = performance.now();
    this.writer.write(encodeChannelFrameJson(ChannelFrame.ping, 0, '{}'));
    this.pingTimer = setTimeout(() => {
      this.pingTimer = undefined;
      if (this.lastFrameAt < askedAt) this.socket.destroy(new Error(`no pong within ${this.pongTimeoutMs} ms`));
    }, this.pongTimeoutMs);
    this.pingTimer.unref();
  }

  close(): void {
    this.closedReason ??= 'the host closed the connection';
    this.socket.destroy();
  }

  private onFrame(kind: number, callId: number, payload: Buffer): void {
    this.lastFrameAt = performance.now();
    if (kind === ChannelFrame.pong) return;
    if (kind === ChannelFrame.goaway) {
      this.closedReason = 'goaway';
      this.onClosed(this);
      if (this.pending.size === 0) this.socket.end();
      return;
    }
    if (kind !== ChannelFrame.answer && kind !== ChannelFrame.failure) return this.settle(callId, undefined, { kind: 'bad-response', message: `the runner sent a frame of kind ${kind}` });
    let decoded: ReturnType<typeof decodeExecuteFrame>;
    try {
      decoded = decodeExecuteFrame(payload);
    } catch (error) {
      // The detail up to its first colon: which check failed, never a snippet of the envelope.
      return this.settle(callId, undefined, { kind: 'bad-response', message: `the runner sent a frame that does not decode${isAlgaError(error) && error.detail ? `: ${error.detail.split(':')[0]}` : ''}` });
    }
    this.settle(callId, { kind: kind === ChannelFrame.answer ? 'answer' : 'failure', envelope: decoded.envelope, body: decoded.body });
  }

  private settle(callId: number, reply: ChannelReply | undefined, loss?: ChannelLoss): void {
    const call = this.pending.get(callId);
    if (!call) return; // given up after its deadline
    this.pending.delete(callId);
    if (reply) call.resolve(reply);
    else call.reject(loss!);
    if (this.closedReason === 'goaway' && this.pending.size === 0) this.socket.end();
  }

  private fail(message: string): void {
    this.closedReason ??= message;
    this.onClosed(this);
    const calls = [...this.pending.values()];
    this.pending.clear();
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.pingTimer);
    this.deadlineTimerAt = Infinity;
    for (const call of calls) call.reject({ kind: 'lost', message });
    const waiting = this.waitingForDrain;
    this.waitingForDrain = [];
    for (const resume of waiting) resume();
  }

  /** Bounded memory of revisions sent in full. */
  rememberRevision(key: string): void {
    if (this.sentRevisions.size >= maxRevisionsRemembered) this.sentRevisions.clear();
    this.sentRevisions.add(key);
  }
}
