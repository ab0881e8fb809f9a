import { AlgaError } from '../lib/errors/index.ts';

/** The most headers one guest response may carry. */
export const maxResponseHeaders = 100;

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length']);
/** RFC 9110 `token`. */
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** RFC 9110 field-value: visible ASCII, obs-text, space and tab — never CR, LF or NUL. */
const headerValue = /^[\t\x20-\x7e\x80-\uffff]*$/;

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
    if (typeof value !== 'string' || !headerValue.test(value)) throw new AlgaError('E_RUNNER_GUEST_INVALID_RESPONSE', `The value of header ${name} contains control characters (CR, LF, NUL …).`);
    const lower = name.toLowerCase();
    if (hopByHop.has(lower)) continue;
    answer[lower] = answer[lower] !== undefined ? `${answer[lower]}, ${value}` : value;
  }
  return answer;
}
