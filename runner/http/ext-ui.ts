import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import type { Runner } from '../runner.ts';
import { sendError } from './errors.ts';

const contentTypes: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  htm: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
  svg: 'image/svg+xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  ico: 'image/x-icon',
  woff: 'font/woff',
  woff2: 'font/woff2',
  ttf: 'font/ttf',
  wasm: 'application/wasm',
  txt: 'text/plain; charset=utf-8',
};

const identifier = /^[A-Za-z0-9._:@\-]{1,200}$/;

/** A path that stays inside `ui/`: relative, no `.`/`..` segments, no backslash or control characters. */
export function safeUiPath(path: string): boolean {
  if (path.startsWith('/') || /[\\\u0000-\u001f]/.test(path)) return false;
  return path === '' || path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/**
 * `GET /ext-ui/{extensionId}/{contentHash}/{path}`: the `ui/` files of a verified bundle,
 * immutable (the URL names the content), with a CSP for a sandboxed iframe.
 */
export function registerExtUi(app: FastifyInstance, runner: Runner): void {
  const csp = [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${runner.config.uiFrameAncestors}`,
    // Sandboxed even when opened outside the host's iframe: no popups, top navigation, modals or downloads.
    // `allow-same-origin` matches the host's iframe (host/web/frame.ts), which keeps the runner's origin
    // when it differs from the host's so the host can check where messages come from.
    'sandbox allow-scripts allow-forms allow-same-origin',
  ].join('; ');

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const { extensionId, contentHash, '*': wildcard } = request.params as { extensionId: string; contentHash: string; '*'?: string };
    const path = wildcard ?? '';
    if (!identifier.test(extensionId)) return sendError(reply, new AlgaError('E_RUNNER_UI_NOT_FOUND', 'The extension id is not valid.'));
    if (!safeUiPath(path)) return sendError(reply, new AlgaError('E_RUNNER_BAD_REQUEST', 'The UI path must stay inside the bundle\'s ui/ folder.'));
    try {
      const file = await runner.uiFile(contentHash, path, extensionId);
      const extension = file.path.includes('.') ? file.path.slice(file.path.lastIndexOf('.') + 1).toLowerCase() : '';
      return reply
        .header('content-type', contentTypes[extension] ?? 'application/octet-stream')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('etag', `"${createHash('sha256').update(file.bytes).digest('hex').slice(0, 32)}"`)
        .header('content-security-policy', csp)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cross-origin-resource-policy', 'cross-origin')
        .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
    } catch (error) {
      if (isAlgaError(error) && (error.code === 'E_RUNNER_BUNDLE_NOT_FOUND' || error.code === 'E_RUNNER_BAD_REQUEST')) {
        return sendError(reply, new AlgaError('E_RUNNER_UI_NOT_FOUND', `No bundle ${contentHash}.`));
      }
      return sendError(reply, error);
    }
  };
  app.get('/ext-ui/:extensionId/:contentHash', serve);
  app.get('/ext-ui/:extensionId/:contentHash/*', serve);
}
