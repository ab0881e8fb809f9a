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
  const json = Buffer.from(JSON.stringify(envelope), 'utf8');
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
