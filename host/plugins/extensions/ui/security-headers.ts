import type { FastifyReply } from 'fastify';

/** The strict policy for host pages: only the host's own scripts and styles, frames only from the runner. */
export function setPageSecurityHeaders(reply: FastifyReply, frameOrigin?: string): void {
  const frameSource = frameOrigin && frameOrigin !== 'null' ? frameOrigin : "'self'";
  reply.header(
    'content-security-policy',
    [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      `frame-src ${frameSource}`,
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
  );
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'same-origin');
  reply.header('x-frame-options', 'DENY');
  reply.header('cache-control', 'no-store');
}
