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
    return new URL(origin).host === request.host ? 'same-origin' : 'other-origin';
  } catch {
    return 'other-origin'; // `Origin: null` (an opaque sandboxed frame)
  }
}

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** A state-changing request sent by a page of another origin (or an opaque one). */
export function isCrossOriginWrite(request: FastifyRequest): boolean {
  return !safeMethods.has(request.method) && requestSite(request) === 'other-origin';
}
