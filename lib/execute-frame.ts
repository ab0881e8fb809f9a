import { AlgaError } from './errors/index.ts';

/**
 * The binary form of `POST /v1/execute` and of its 200 answer, for bodies that should not cross
 * as base64 inside JSON: a 4-byte big-endian length, that many bytes of UTF-8 JSON (the usual
 * envelope without `body_b64`), then the raw body bytes to the end.
 *
 *   request:  envelope = the execute request without http.body_b64; body = the request body
 *   answer:   envelope = {status, headers, execution};             body = the response body
 *
 * Errors are answered as JSON whatever form the request took.
 */
export const executeFrameType = 'application/vnd.alga.execute-frame';

const lengthBytes = 4;

/** The frame as two chunks (header + envelope, body), so a caller can write them without a copy. */
export function encodeExecuteFrame(envelope: unknown, body: Uint8Array): [Buffer, Buffer] {
  return encodeExecuteFrameJson(JSON.stringify(envelope), body);
}

/** The same, for an envelope already serialised as JSON. */
export function encodeExecuteFrameJson(envelopeJson: string, body: Uint8Array): [Buffer, Buffer] {
  const json = Buffer.from(envelopeJson, 'utf8');
  const head = Buffer.allocUnsafe(lengthBytes + json.length);
  head.writeUInt32BE(json.length, 0);
  json.copy(head, lengthBytes);
  return [head, Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

/** Splits a frame; throws E_RUNNER_BAD_REQUEST naming what is wrong. The body is a view into `frame`. */
export function decodeExecuteFrame(frame: Buffer): { envelope: unknown; body: Buffer } {
  if (frame.length < lengthBytes) throw new AlgaError('E_RUNNER_BAD_REQUEST', `The frame is ${frame.length} bytes, shorter than its ${lengthBytes}-byte length prefix.`);
  const jsonLength = frame.readUInt32BE(0);
  if (jsonLength > frame.length - lengthBytes) throw new AlgaError('E_RUNNER_BAD_REQUEST', `The frame announces ${jsonLength} bytes of JSON but holds ${frame.length - lengthBytes}.`);
  let envelope: unknown;
  try {
    envelope = JSON.parse(frame.toString('utf8', lengthBytes, lengthBytes + jsonLength));
  } catch (error) {
    throw new AlgaError('E_RUNNER_BAD_REQUEST', `The frame's envelope is not JSON: ${(error as Error).message}`);
  }
  return { envelope, body: frame.subarray(lengthBytes + jsonLength) };
}

/**
 * The execute channel: `GET /v1/channel` with `Connection: Upgrade`, `Upgrade: alga-execute/1` and
 * the service token as a bearer token; after `101 Switching Protocols` the connection carries
 * channel frames both ways, many calls in flight, each named by a call id the client chooses:
 *
 *   [u32 length of what follows][u8 kind][u32 call id][payload]
 *
 *   execute (client → runner): payload = an execute frame (the request envelope, then its body)
 *   answer  (runner → client): payload = an execute frame (the 200 envelope, then the response body)
 *   failure (runner → client): payload = an execute frame whose envelope is the error answer
 *           `{status, error: {code, message}, request_id, retry_after?}` and whose body is empty
 *   goaway  (runner → client, call id 0): the runner is closing; calls in flight still get answers
 *   ping    (client → runner) / pong (runner → client, the ping's call id): is the runner still there?
 *
 * A frame whose kind or payload is wrong is answered with a failure for its call id and the
 * connection goes on; a frame larger than the reader's limit is skipped as it arrives (and
 * answered 413). Only a header that cannot be a frame (a length shorter than kind + id) ends the
 * connection.
 */
export const channelPath = '/v1/channel';
export const channelProtocol = 'alga-execute/1';

export const ChannelFrame = { execute: 1, answer: 2, failure: 3, goaway: 4, ping: 5, pong: 6 } as const;
export type ChannelFrameKind = (typeof ChannelFrame)[keyof typeof ChannelFrame];

/** Length (4) + kind (1) + call id (4). */
export const channelHeaderBytes = 9;
const kindAndId = 5;
/** Below this, a frame is copied into one buffer (one write, one packet); above, its body is written as it is. */
const copyBelow = 64 * 1024;

/** A channel frame as the chunks to write (one for small frames). */
export function encodeChannelFrame(kind: ChannelFrameKind, callId: number, envelope: unknown, body?: Uint8Array): Buffer[] {
  return encodeChannelFrameJson(kind, callId, JSON.stringify(envelope), body);
}

const noBody = new Uint8Array();

/** The same, for an envelope already serialised as JSON. */
export function encodeChannelFrameJson(kind: ChannelFrameKind, callId: number, envelopeJson: string, body: Uint8Array = noBody): Buffer[] {
  const json = Buffer.from(envelopeJson, 'utf8');
  const payloadLength = lengthBytes + json.length + body.byteLength;
  const headLength = channelHeaderBytes + lengthBytes + json.length;
  const small = headLength + body.byteLength <= copyBelow;
  const head = Buffer.allocUnsafe(small ? headLength + body.byteLength : headLength);
  head.writeUInt32BE(kindAndId + payloadLength, 0);
  head.writeUInt8(kind, 4);
  head.writeUInt32BE(callId, 5);
  head.writeUInt32BE(json.length, channelHeaderBytes);
  json.copy(head, channelHeaderBytes + lengthBytes);
  if (small) {
    if (body.byteLength > 0) head.set(body, headLength);
    return [head];
  }
  return [head, Buffer.from(body.buffer, body.byteOffset, body.byteLength)];
}

export interface ChannelFrameHandlers {
  frame(kind: number, callId: number, payload: Buffer): void;
  /** A frame above the limit was skipped; `callId` may be answered. */
  oversize(kind: number, callId: number, bytes: number): void;
  /** The stream cannot be read as frames any more: close the connection. */
  broken(reason: string): void;
}

/**
 * Cuts a byte stream into channel frames. A frame lying in one chunk is handed on as a view
 * into it (no copy); one spread over chunks is joined once, when complete.
 */
export class ChannelFrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of an oversize frame still to be thrown away. */
  private skipping = 0;
  private broken = false;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly handlers: ChannelFrameHandlers,
  ) {}

  push(chunk: Buffer): void {
    if (this.broken) return;
    if (this.skipping > 0) {
      const skipped = Math.min(this.skipping, chunk.length);
      this.skipping -= skipped;
      chunk = chunk.subarray(skipped);
      if (chunk.length === 0) return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (!this.broken && this.skipping === 0 && this.buffered >= channelHeaderBytes) {
      const head = this.peek(channelHeaderBytes);
      const length = head.readUInt32BE(0);
      const kind = head.readUInt8(4);
      const callId = head.readUInt32BE(5);
      if (length < kindAndId) {
        this.broken = true;
        this.chunks = [];
        this.handlers.broken(`a frame header announces ${length} bytes, fewer than its kind and call id`);
        return;
      }
      if (length - kindAndId > this.maxFrameBytes) {
        const total = 4 + length;
        const present = Math.min(total, this.buffered);
        this.take(present);
        this.skipping = total - present;
        this.handlers.oversize(kind, callId, length - kindAndId);
        continue;
      }
      if (this.buffered < 4 + length) return;
      const frame = this.take(4 + length);
      this.handlers.frame(kind, callId, frame.subarray(channelHeaderBytes));
    }
  }

  /** The first `bytes` buffered bytes, without consuming them. */
  private peek(bytes: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= bytes) return first;
    return Buffer.concat(this.chunks, this.buffered).subarray(0, bytes);
  }

  /** Consumes the first `bytes` buffered bytes. */
  private take(bytes: number): Buffer {
    const first = this.chunks[0];
    let taken: Buffer;
    if (first.length >= bytes) {
      taken = first.subarray(0, bytes);
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
      const joined = Buffer.concat(this.chunks, this.buffered);
      taken = joined.subarray(0, bytes);
      this.chunks = joined.length > bytes ? [joined.subarray(bytes)] : [];
    }
    this.buffered -= bytes;
    return taken;
  }
}
