import { AlgaError } from '../lib/errors/index.ts';

/** The most headers one guest response may carry. */
export const maxResponseHeaders = 100;

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length']);
/** RFC 9110 `token`. */
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/**
 * RFC 9110 field-value as Node can write it: visible ASCII, obs-text (U+0080–U+00FF, one Latin-1
 * byte each), space and tab. Never CR, LF, NUL or other controls, and nothing above Latin-1
 * (Node refuses those with ERR_INVALID_CHAR).
 */
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * The status of a guest's answer: a final status, 200–599. A 1xx is an interim answer: written
 * alone it leaves the connection waiting for a final one, and the next request's answer would be
 * read as this one's. 100–199 and anything else is E_RUNNER_GUEST_INVALID_RESPONSE.
 */
export function guestStatus(status: unknown): number {
  if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
    throw new AlgaError('E_RUNNER_GUEST_INVALID_RESPONSE', `The status ${String(status).slice(0, 16)} is not a final HTTP status (200–599).`);
  }
  return status;
}

/**
 * A guest's response as the runner answers it: the body and the headers (names and values)
 * together within `maxResponseBytes` (E_RUNNER_RESPONSE_TOO_LARGE), headers that are valid HTTP
 * (E_RUNNER_GUEST_INVALID_RESPONSE), hop-by-hop headers dropped, repeated names joined.
 */
export function responseHeaders(headers: readonly (readonly [string, string])[], bodyBytes: number, maxResponseBytes: number): Record<string, string> {
  if (headers.length > maxResponseHeaders) throw new AlgaError('E_RUNNER_RESPONSE_TOO_LARGE', `It has ${headers.length} headers; at most ${maxResponseHeaders} are allowed.`);
  let total = bodyBytes;
  for (const [name, value] of headers) total += Buffer.byteLength(String(name)) + Buffer.byteLength(String(value));
  if (total > maxResponseBytes) throw new AlgaError('E_RUNNER_RESPONSE_TOO_LARGE', `Body and headers take ${total} bytes; the limit is ${maxResponseBytes} bytes.`);
  const answer: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (typeof name !== 'string' || !headerName.test(name)) throw new AlgaError('E_RUNNER_GUEST_INVALID_RESPONSE', `The header name ${JSON.stringify(String(name).slice(0, 64))} is not a valid HTTP token.`);
    if (typeof value !== 'string' || !headerValue.test(value)) throw new AlgaError('E_RUNNER_GUEST_INVALID_RESPONSE', `The value of header ${name} contains control characters (CR, LF, NUL …) or characters above Latin-1 (U+00FF).`);
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) continue;
    answer[lower] = answer[lower] !== undefined ? `${answer[lower]}, ${value}` : value;
  }
  return answer;
}
