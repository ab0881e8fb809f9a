import type { FastifyRequest } from 'fastify';

/**
 * Where a browser request comes from, as the host judges it: the browser's own
 * `Sec-Fetch-Site`, else the `Origin` header compared with the host the request was sent to.
 * `unknown` means neither header was sent (curl, API clients, old browsers without `Origin`).
 * Another port or another host name counts as another origin: extension UIs live on origins of
 * their own, and SameSite cookies do not tell those apart from the host.
 */
export type RequestSite = 'same-origin' | 'other-origin' | 'user-initiated' | 'unknown';

export function requestSite(request: FastifyRequest): RequestSite {
  const site = request.headers['sec-fetch-site'];
  if (typeof site === 'string') {
    if (site === 'same-origin') return 'same-origin';
    if (site === 'none') return 'user-initiated';
    return 'other-origin';
  }
  const origin = request.headers.origin;
  if (typeof origin !== 'string') return 'unknown';
  try {
    const from = new URL(origin);
    // The request's host read with the Origin's scheme, so a default port (`:80`, `:443`) written out or left off compares equal.
    return from.host === new URL(`${from.protocol}//${request.host}`).host ? 'same-origin' : 'other-origin';
  } catch {
    return 'other-origin'; // `Origin: null` (an opaque sandboxed frame)
  }
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A state-changing request sent by a page of another origin (or an opaque one). */
export function isCrossOriginWrite(request: FastifyRequest): boolean {
  return !safeMethods.has(request.method) && requestSite(request) === 'other-origin';
}

const reads = new Set(['GET', 'HEAD']);

/**
 * Whether the browser session may stand for the caller on a route that answers content the host
 * does not write (the extension gateway). Yes from the host's own pages; yes for a GET or HEAD the
 * user started from the address bar or a bookmark (`Sec-Fetch-Site: none`: no page chose it, and
 * the answer cannot run as a document there); yes when no browser header says anything (an API
 * client — browsers send `Origin` on every cross-origin write). No from any other origin, the
 * host's same-site neighbours included: a page elsewhere never acts with the user's session.
 */
export function isSessionCallAllowed(request: FastifyRequest): boolean {
  const site = requestSite(request);
  if (site === 'same-origin' || site === 'unknown') return true;
  if (site === 'user-initiated') return reads.has(request.method);
  return false;
}
