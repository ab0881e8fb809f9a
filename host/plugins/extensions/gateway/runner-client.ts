import { createHash } from 'node:crypto';
import { Agent, request } from 'node:http';
import { isAlgaError } from '../../../../lib/errors/index.ts';
import { decodeExecuteFrame, encodeExecuteFrameJson, executeFrameType } from '../../../../lib/execute-frame.ts';
import { RunnerConnection, type ChannelLoss, type ChannelReply, type UpgradeRefusal } from './runner-connection.ts';

/**
 * The host's side of calling a runner: `call(runner, request) → answer`. Calls go over one
 * kept-open execute channel per runner (lib/execute-frame.ts: many calls in flight, authenticated
 * once per connection), reconnecting on the next call after a connection is lost; a runner that
 * does not offer the channel is called with `POST /v1/execute` instead. Routing over several
 * runners sits on top of this: it only picks the `RunnerTarget`.
 */

/** Where a runner is and the token it expects. */
export interface RunnerTarget {
  baseUrl: string;
  serviceToken: string;
}

/** One execute call: the per-call envelope, the install's fields, the raw body, a deadline. */
export interface ExecuteCall {
  envelope: {
    context: { tenant_id: string; extension_id: string; install_id: string; request_id?: string; version: string; content_hash: string };
    http: { method: string; path: string; query: string; headers: Record<string, string> };
  };
  /**
   * limits, config, providers, egress, isolation, ui_proxy, secret_envelope: sent once per
   * revision and connection. Pass the same (unchanged) object for the same install: its JSON and
   * revision are worked out once per object.
   */
  install: Record<string, unknown>;
  body: Uint8Array;
  timeoutMs: number;
}

/** The execution's figures as the runner reports them (`execution` of an answer). */
export interface ExecutionFigures {
  request_id?: string;
  duration_ms?: number;
  memory_bytes?: number;
  egress_bytes?: number;
  denials?: unknown;
  denials_dropped?: unknown;
  /** The failure an SDK extension reported with its own 5xx. */
  error?: { code?: unknown; message?: unknown };
}

/**
 * The runner's answer: the guest's response, or the runner's refusal — its status, catalog code
 * and message, `Retry-After`, and the execution's figures when it got as far as running.
 */
export type ExecuteAnswer =
  | { ok: true; status: number; headers: Record<string, string>; body: Buffer; execution?: ExecutionFigures }
  | { ok: false; status: number; code?: string; message?: string; retryAfter?: string; execution?: ExecutionFigures };

/** The refusal fields of a failure body (`{error: {code, message}, execution?}`). */
function refusalOf(body: unknown): Pick<Extract<ExecuteAnswer, { ok: false }>, 'code' | 'message' | 'execution'> {
  const { error, execution } = (body ?? {}) as { error?: { code?: unknown; message?: unknown }; execution?: unknown };
  return {
    ...(typeof error?.code === 'string' ? { code: error.code } : {}),
    ...(typeof error?.message === 'string' ? { message: error.message } : {}),
    ...(execution && typeof execution === 'object' ? { execution: execution as ExecutionFigures } : {}),
  };
}

/** No answer: see ChannelLoss for the kinds (`unreachable` means the call was never sent). */
export type RunnerCallError = ChannelLoss;

export interface RunnerClient {
  /** Resolves with the runner's answer; rejects with a RunnerCallError. Never waits past `timeoutMs`. */
  call(runner: RunnerTarget, call: ExecuteCall): Promise<ExecuteAnswer>;
  /** Closes every connection (calls in flight fail with `lost`). */
  close(): void;
}

export interface RunnerClientOptions {
  /** Largest response body accepted from a runner (its own limit is 10 MB). */
  maxAnswerBytes?: number;
  /** How long a runner that refused the channel upgrade (an older runner) is called over HTTP before trying again. */
  httpFallbackMs?: number;
  /** A connection on which a call timed out without any frame coming back is pinged; no pong within this long closes it (5000). */
  pongTimeoutMs?: number;
}

/**
 * An upgrade refusal that means "no channel here" (an older runner, a proxy that does not pass
 * upgrades) rather than "not you" (401, 403) or "not now" (5xx): the runner is called over HTTP.
 */
const meansNoChannel = (status: number) => status === 501 || (status < 500 && status !== 401 && status !== 403);
/** An install's fields as sent: their JSON (without the braces) and its hash, the revision. */
interface InstallWire {
  members: string;
  revision: string;
}

interface Link {
  connection?: RunnerConnection;
  opening?: Promise<RunnerConnection | UpgradeRefusal>;
  /** Until this time (ms since epoch) the runner is called over HTTP. */
  httpUntil: number;
}

export function createRunnerClient(options: RunnerClientOptions = {}): RunnerClient {
  const maxAnswerBytes = options.maxAnswerBytes ?? 16 * 1048576;
  const httpFallbackMs = options.httpFallbackMs ?? 60_000;
  const links = new Map<string, Link>();
  const wires = new WeakMap<object, InstallWire>();

  /** The revision is a content hash of the install's fields: it changes whenever any of them does. */
  function wireOf(install: Record<string, unknown>): InstallWire {
    let wire = wires.get(install);
    if (!wire) {
      const json = JSON.stringify(install);
      wire = { members: json.slice(1, -1), revision: createHash('sha256').update(json).digest('base64url').slice(0, 32) };
      wires.set(install, wire);
    }
    return wire;
  }

  function linkFor(runner: RunnerTarget): Link {
    const key = `${runner.baseUrl}\n${runner.serviceToken}`;
    let link = links.get(key);
    if (!link) {
      link = { httpUntil: 0 };
      links.set(key, link);
    }
    return link;
  }

  async function connect(link: Link, runner: RunnerTarget, deadline: number): Promise<RunnerConnection | UpgradeRefusal> {
    if (link.connection && !link.connection.closedReason) return link.connection;
    link.opening ??= RunnerConnection.open(runner.baseUrl, runner.serviceToken, { maxAnswerBytes, pongTimeoutMs: options.pongTimeoutMs }, (closed) => {
      if (link.connection === closed) link.connection = undefined;
    })
      .then((opened) => {
        if (opened instanceof RunnerConnection) link.connection = opened;
        else if (meansNoChannel(opened.status)) link.httpUntil = Date.now() + httpFallbackMs;
        return opened;
      })
      .finally(() => {
        link.opening = undefined;
      });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject({ kind: 'timeout', message: 'no channel to the runner before the deadline' } satisfies ChannelLoss), Math.max(0, deadline - performance.now()));
    });
    try {
      return await Promise.race([link.opening, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function call(runner: RunnerTarget, execute: ExecuteCall): Promise<ExecuteAnswer> {
    const deadline = performance.now() + execute.timeoutMs;
    const wire = wireOf(execute.install);
    const callJson = JSON.stringify(execute.envelope);
    // The envelope's own members, the revision, and (when the runner may not hold it) the install's members.
    const keyOnly = `${callJson.slice(0, -1)},"install_revision":"${wire.revision}"}`;
    const full = wire.members === '' ? keyOnly : `${keyOnly.slice(0, -1)},${wire.members}}`;
    const link = linkFor(runner);
    if (link.httpUntil > Date.now()) return viaHttp(runner, full, execute.body, deadline);
    const connection = await connect(link, runner, deadline);
    if (!(connection instanceof RunnerConnection)) {
      if (link.httpUntil > Date.now()) return viaHttp(runner, full, execute.body, deadline);
      return refusalAnswer(connection);
    }
    const { context } = execute.envelope;
    const revisionKey = `${context.tenant_id}\u0000${context.install_id}\u0000${context.content_hash}\u0000${wire.revision}`;
    const prepared = connection.sentRevisions.has(revisionKey);
    if (!prepared) connection.rememberRevision(revisionKey);
    let reply = await connection.send(prepared ? keyOnly : full, execute.body, deadline);
    // The runner no longer holds the revision (it restarted or let it go): send the fields once more.
    if (reply.kind === 'failure' && failureCode(reply) === 'E_RUNNER_INSTALL_NOT_PREPARED') {
      connection.rememberRevision(revisionKey);
      reply = await connection.send(full, execute.body, deadline);
    }
    return channelAnswer(reply);
  }

  return {
    call,
    close() {
      for (const link of links.values()) link.connection?.close();
      links.clear();
    },
  };
}

function failureCode(reply: ChannelReply): string | undefined {
  return refusalOf(reply.envelope).code;
}

function channelAnswer(reply: ChannelReply): ExecuteAnswer {
  const envelope = reply.envelope as { status?: unknown; headers?: Record<string, string>; execution?: ExecutionFigures; retry_after?: unknown } | undefined;
  if (reply.kind === 'failure') {
    const retryAfter = envelope?.retry_after;
    return { ok: false, status: typeof envelope?.status === 'number' ? envelope.status : 502, ...refusalOf(reply.envelope), ...(retryAfter !== undefined ? { retryAfter: String(retryAfter) } : {}) };
  }
  return { ok: true, status: envelope?.status as number, headers: envelope?.headers ?? {}, body: reply.body, execution: envelope?.execution };
}

function refusalAnswer(refusal: UpgradeRefusal): ExecuteAnswer {
  return { ok: false, status: refusal.status, ...refusalOf(refusal.body) };
}

async function viaHttp(runner: RunnerTarget, envelopeJson: string, body: Uint8Array, deadline: number): Promise<ExecuteAnswer> {
  const answer = await postToRunner(runner.baseUrl, runner.serviceToken, envelopeJson, body, Math.max(0, deadline - performance.now()));
  if (answer.status !== 200) {
    const retryAfter = answer.headers['retry-after'];
    return { ok: false, status: answer.status, ...refusalOf(answer.body), ...(typeof retryAfter === 'string' ? { retryAfter } : {}) };
  }
  const result = answer.body as { status?: unknown; headers?: Record<string, string>; body_b64?: string; execution?: ExecutionFigures } | undefined;
  const bytes = answer.rawBody ?? (result?.body_b64 ? Buffer.from(result.body_b64, 'base64') : Buffer.alloc(0));
  return { ok: true, status: result?.status as number, headers: result?.headers ?? {}, body: bytes, execution: result?.execution };
}

interface RunnerResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The parsed JSON answer, or a frame answer's envelope. */
  body: unknown;
  /** A frame answer's raw body (absent when the runner answered JSON). */
  rawBody?: Buffer;
}

const singleWriteBelow = 64 * 1024;
const agent = new Agent({ keepAlive: true, maxSockets: 512, keepAliveMsecs: 10_000 });

/**
 * `POST /v1/execute` as an execute frame (lib/execute-frame.ts), for runners without the channel,
 * with a deadline. The answer is read by its content-type (frame or JSON). Rejects with a
 * RunnerCallError; never hangs past `timeoutMs`.
 */
function postToRunner(baseUrl: string, token: string, envelopeJson: string, body: Uint8Array, timeoutMs: number): Promise<RunnerResponse> {
  const chunks = encodeExecuteFrameJson(envelopeJson, body);
  const contentLength = chunks[0].length + chunks[1].length;
  const headers = { 'content-type': executeFrameType, accept: `${executeFrameType}, application/json`, 'content-length': contentLength, authorization: `Bearer ${token}` };
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: RunnerCallError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    };
    const req = request(`${baseUrl}/v1/execute`, { method: 'POST', agent, headers }, (res) => {
      const received: Buffer[] = [];
      res.on('data', (chunk: Buffer) => received.push(chunk));
      res.on('error', () => fail({ kind: 'lost', message: 'runner response aborted' }));
      res.on('end', () => {
        if (settled) return;
        const status = res.statusCode ?? 502;
        const answer = readAnswer(status, res.headers['content-type'], Buffer.concat(received));
        if ('kind' in answer) {
          fail(answer);
          return;
        }
        settled = true;
        clearTimeout(timer);
        resolve({ status, headers: res.headers, ...answer });
      });
    });
    const timer = setTimeout(() => {
      fail({ kind: 'timeout', message: `no runner answer within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (error: NodeJS.ErrnoException) => fail({ kind: 'unreachable', message: error.code ?? error.message }));
    // One write for small frames (one packet, one wake-up at the runner); large bodies are not copied.
    if (contentLength > singleWriteBelow) req.write(chunks[0]);
    req.end(contentLength <= singleWriteBelow ? Buffer.concat(chunks, contentLength) : chunks[1]);
  });
}

function readAnswer(status: number, contentType: string | undefined, bytes: Buffer): Pick<RunnerResponse, 'body' | 'rawBody'> | RunnerCallError {
  if (contentType?.split(';')[0].trim().toLowerCase() === executeFrameType) {
    try {
      const { envelope, body } = decodeExecuteFrame(bytes);
      return { body: envelope, rawBody: body };
    } catch (error) {
      // The detail up to its first colon: which check failed, never a snippet of the envelope.
      return { kind: 'bad-response', message: `runner answered ${status} with a frame that does not decode${isAlgaError(error) && error.detail ? `: ${error.detail.split(':')[0]}` : ''}` };
    }
  }
  try {
    return { body: JSON.parse(bytes.toString('utf8')) };
  } catch {
    return { kind: 'bad-response', message: `runner answered ${status} with a body that is not JSON` };
  }
}
