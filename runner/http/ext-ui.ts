import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError, isAlgaError } from '../../lib/errors/index.ts';
import { defaultUiOriginTemplate, parseUiOriginTemplate, uiOriginLabel, type UiOriginTemplate } from '../../lib/ext-ui/origins.ts';
import { readUiTicket, uiTicketKey } from '../../lib/ext-ui/tickets.ts';
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

/** The parts of the runner's configuration the UI routes read. */
interface ExtUiSettings {
  /** RUNNER_UI_ORIGIN, else the loopback default from RUNNER_PUBLIC_BASE or the runner's own address. */
  template(): UiOriginTemplate | string;
  ticketKey: Buffer;
}

/**
 * `GET /ext-ui/{extensionId}/{contentHash}/{ticket}/{path}`: the `ui/` files of a verified bundle,
 * only with a ticket the host signed for that extension and content hash (lib/ext-ui/tickets.ts),
 * and only at the install's own origin: the `Host` must be the install's UI host name, so
 * extension A's files are never served where extension B's storage lives. Each answer carries a
 * CSP that lets only the host page named in the ticket frame it. No service workers.
 */
export function registerExtUi(app: FastifyInstance, runner: Runner): void {
  const settings: ExtUiSettings = {
    template: () => {
      const text = runner.config.uiOrigin ?? defaultUiOriginTemplate(runner.config.publicBase ?? ownUrl(app));
      return text ? parseUiOriginTemplate(text) : 'Set RUNNER_UI_ORIGIN (such as https://{ext}.ext.example.com): RUNNER_PUBLIC_BASE is not on loopback, so there is no default.';
    },
    ticketKey: uiTicketKey(runner.config.serviceToken ?? ''),
  };
  const csp = (parentOrigin: string) => [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${parentOrigin}`,
    // Sandboxed even when opened outside the host's iframe: no popups, top navigation, modals or downloads.
    // `allow-same-origin` matches the host's iframe (host/web/frame.ts): the frame keeps its own origin
    // (the install's, never the host's), so both sides can check where messages come from.
    'sandbox allow-scripts allow-forms allow-same-origin',
  ].join('; ');

  const serve = async (request: FastifyRequest, reply: FastifyReply) => {
    const { extensionId, contentHash, '*': rest = '' } = request.params as { extensionId: string; contentHash: string; '*'?: string };
    // The ticket is the first segment of the wildcard (a route parameter would be cut at fastify's maxParamLength).
    const slash = rest.indexOf('/');
    if (slash < 0) return sendError(reply, new AlgaError('E_RUNNER_UI_LINK_INVALID', 'The URL has no ticket.'));
    const ticket = rest.slice(0, slash);
    const path = rest.slice(slash + 1);
    if (!identifier.test(extensionId)) return sendError(reply, new AlgaError('E_RUNNER_UI_NOT_FOUND', 'The extension id is not valid.'));
    if (!safeUiPath(path)) return sendError(reply, new AlgaError('E_RUNNER_BAD_REQUEST', 'The UI path must stay inside the bundle\'s ui/ folder.'));
    if (request.headers['service-worker'] !== undefined) return sendError(reply, new AlgaError('E_RUNNER_UI_SERVICE_WORKER'));
    const read = readUiTicket(settings.ticketKey, ticket, extensionId, contentHash);
    if (read === undefined) return sendError(reply, new AlgaError('E_RUNNER_UI_LINK_INVALID', 'The link was not signed by the host for this extension version.'));
    if (read === 'expired') return sendError(reply, new AlgaError('E_RUNNER_UI_LINK_INVALID', 'The link has expired.'));
    if (!isOrigin(read.parentOrigin)) return sendError(reply, new AlgaError('E_RUNNER_UI_LINK_INVALID', 'The link names no valid host origin.'));
    const template = settings.template();
    if (typeof template === 'string') return sendError(reply, new AlgaError('E_RUNNER_CONFIG_INVALID', template));
    const expectedHost = template.hostname(uiOriginLabel({ tenantId: read.tenantId, extensionId, installId: read.installId }));
    if (request.hostname.toLowerCase().replace(/\.$/, '') !== expectedHost) {
      return sendError(reply, new AlgaError('E_RUNNER_UI_LINK_INVALID', 'The link was opened at another origin than its install\'s.'));
    }
    try {
      const file = await runner.uiFile(contentHash, path, extensionId);
      const extension = file.path.includes('.') ? file.path.slice(file.path.lastIndexOf('.') + 1).toLowerCase() : '';
      const secondsLeft = Math.max(0, Math.floor(read.expiresAt - Date.now() / 1000));
      return reply
        .header('content-type', contentTypes[extension] ?? 'application/octet-stream')
        .header('cache-control', `private, max-age=${secondsLeft}, immutable`)
        .header('etag', `"${createHash('sha256').update(file.bytes).digest('hex').slice(0, 32)}"`)
        .header('content-security-policy', csp(read.parentOrigin))
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cross-origin-resource-policy', 'same-origin')
        .send(Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength));
    } catch (error) {
      if (isAlgaError(error) && (error.code === 'E_RUNNER_BUNDLE_NOT_FOUND' || error.code === 'E_RUNNER_BAD_REQUEST')) {
        return sendError(reply, new AlgaError('E_RUNNER_UI_NOT_FOUND', `No bundle ${contentHash}.`));
      }
      return sendError(reply, error);
    }
  };
  app.get('/ext-ui/:extensionId/:contentHash/*', serve);
}

/** The runner's own address, for the loopback default when RUNNER_PUBLIC_BASE is not set. */
function ownUrl(app: FastifyInstance): string | undefined {
  const address = app.server.address();
  return address && typeof address === 'object' ? `http://127.0.0.1:${address.port}` : undefined;
}

function isOrigin(value: string): boolean {
  return URL.canParse(value) && /^https?:$/.test(new URL(value).protocol) && new URL(value).origin === value;
}
