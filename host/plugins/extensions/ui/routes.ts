import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { isCrossOriginWrite } from '../../../core/request-site.ts';
import type { HostContext } from '../../../core/plugin.ts';
import type { Principal } from '../../../core/auth/index.ts';
import { isPageScript, pageScript, pageStylesheet } from '../../../web/assets.ts';
import { extensionPage, homePage, loginPage, notFoundPage, type SignedInUser } from '../../../web/pages.ts';
import { themes } from '../../../web/theme.ts';
import type { InstalledUiSource } from './installed-ui.ts';
import { menuEntries } from './menu.ts';
import { setPageSecurityHeaders } from './security-headers.ts';
import { uiFrames } from './ui-links.ts';

export interface ExtensionUiOptions {
  host: Pick<HostContext, 'auth' | 'runner' | 'config' | 'log'> & { secrets: Pick<HostContext['secrets'], 'runnerServiceToken'> };
  installs: InstalledUiSource;
}

const menuPath = '/ext';
/** Where signing in leads when no page was asked for: `/` sends each account on to its start page. */
const homePath = '/';

/**
 * The signed-in user's pages: `/login`, `/logout`, `/ext` (menu) and `/ext/{extensionId}/…`
 * (the extension's UI in a sandboxed iframe served by the runner), plus their static assets.
 * Register on the extensions plugin's routes (no prefix): `await registerExtensionUi(host.routes, {host, installs})`.
 */
export async function registerExtensionUi(routes: FastifyInstance, options: ExtensionUiOptions): Promise<void> {
  await routes.register(async (pages) => uiPages(pages, options));
}

async function uiPages(pages: FastifyInstance, { host, installs }: ExtensionUiOptions): Promise<void> {
  const { auth } = host;
  const frameFor = uiFrames({ uiOrigin: host.config.uiOrigin, runnerPublicBase: () => host.runner.publicBaseUrl(), runnerServiceToken: host.secrets.runnerServiceToken });
  if (!pages.hasContentTypeParser('application/x-www-form-urlencoded')) await pages.register(formbody);

  const signedIn = (request: FastifyRequest): { principal: Principal; user: SignedInUser } | undefined => {
    const principal = auth.principalOf(request);
    if (!principal || principal.kind !== 'user') return undefined;
    return { principal, user: { name: principal.name, tenantId: principal.tenantId ?? '(no tenant)' } };
  };

  const toLogin = (request: FastifyRequest, reply: FastifyReply) =>
    reply.redirect(`/login?next=${encodeURIComponent(request.url)}`, 303);

  const sendPage = (reply: FastifyReply, status: number, body: string, frameOrigin?: string) => {
    setPageSecurityHeaders(reply, frameOrigin);
    return reply.code(status).type('text/html; charset=utf-8').send(body);
  };

  pages.get('/login', async (request, reply) => {
    const query = request.query as Record<string, string | undefined>;
    if (signedIn(request)) return reply.redirect(safeNext(query.next), 303);
    return sendPage(reply, 200, loginPage({ next: safeNext(query.next), notice: query.notice === 'signed-out' ? 'You are signed out.' : undefined }));
  });

  // Same throttle as POST /api/auth/login (the host registers @fastify/rate-limit with global: false).
  pages.post('/login', { config: { rateLimit: { max: 10, timeWindow: '1 minute' } } }, async (request, reply) => {
    refuseCrossSiteForm(request, host.config.env);
    const body = (request.body ?? {}) as Record<string, unknown>;
    const username = typeof body.username === 'string' ? body.username.slice(0, 128) : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const next = safeNext(typeof body.next === 'string' ? body.next : undefined);
    const user = username && password ? await auth.verifyPassword(username, password) : undefined;
    if (!user) return sendPage(reply, 401, loginPage({ next, username, error: 'Wrong username or password.' }));
    auth.issueSession(reply, user);
    return reply.redirect(next, 303);
  });

  pages.post('/logout', async (request, reply) => {
    refuseCrossSiteForm(request, host.config.env);
    auth.endSession(request, reply);
    return reply.redirect('/login?notice=signed-out', 303);
  });

  pages.get(menuPath, async (request, reply) => {
    const session = signedIn(request);
    if (!session) return toLogin(request, reply);
    const menu = session.principal.tenantId ? menuEntries(await installs.list(session.principal.tenantId)) : [];
    return sendPage(reply, 200, homePage(session.user, menu));
  });

  const extensionRoute = async (request: FastifyRequest, reply: FastifyReply) => {
    const session = signedIn(request);
    if (!session) return toLogin(request, reply);
    const params = request.params as { extensionId: string; '*'?: string };
    const tenantId = session.principal.tenantId;
    const installed = tenantId ? await installs.list(tenantId) : [];
    const menu = menuEntries(installed);
    const install = tenantId ? await installs.get(tenantId, params.extensionId) : undefined;
    const entry = install?.manifest.ui?.iframe?.entry;
    if (!install || !entry) {
      return sendPage(reply, 404, notFoundPage(session.user, menu, `No extension with a UI named "${params.extensionId}" is installed for your tenant.`));
    }
    const framed = frameFor({ tenantId: tenantId!, installId: install.installId, extensionId: install.extensionId, contentHash: install.contentHash, entry, hostOrigin: hostOrigin(request, host.config.env) });
    if ('unavailable' in framed) {
      const why = framed.unavailable === 'starting'
        ? 'The extension runner is starting; reload in a moment.'
        : 'Extension UIs are not set up on this host: the operator sets RUNNER_UI_ORIGIN (see docs/ui.md).';
      return sendPage(reply, 503, notFoundPage(session.user, menu, why));
    }
    const { frame } = framed;
    const label = install.manifest.ui?.hooks?.find((hook) => hook.type === 'menu')?.label ?? install.manifest.name;
    const path = params['*'] ? `/${params['*']}` : '/';
    const page = extensionPage(session.user, menu, label, {
      extensionId: install.extensionId,
      frame: { ...frame, title: label },
      bootstrap: {
        tenantId: tenantId!,
        extensionId: install.extensionId,
        version: install.version,
        contentHash: install.contentHash,
        path,
        theme: themes.light,
        user: { id: session.principal.id, name: session.principal.name },
      },
      themes,
    });
    return sendPage(reply, 200, page, frame.origin);
  };
  pages.get('/ext/:extensionId', extensionRoute);
  pages.get('/ext/:extensionId/*', extensionRoute);

  pages.get('/ui/assets/style.css', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
    return reply.type('text/css; charset=utf-8').send(pageStylesheet());
  });

  pages.get('/ui/assets/:name', async (request, reply) => {
    const { name } = request.params as { name: string };
    if (!isPageScript(name)) throw new AlgaError('E_NOT_FOUND', 'No such asset.');
    reply.header('x-content-type-options', 'nosniff').header('cache-control', 'no-cache');
    return reply.type('application/javascript; charset=utf-8').send(await pageScript(name));
  });
}

/** A form posted from another site (the browser's Origin header says so) is refused: no login or logout CSRF. */
function refuseCrossSiteForm(request: FastifyRequest, env: Readonly<Record<string, string | undefined>>): void {
  const origin = request.headers.origin;
  if (isCrossOriginWrite(request) || (origin !== undefined && origin !== hostOrigin(request, env))) throw new AlgaError('E_CROSS_SITE_REQUEST');
}

/** Where to go after signing in: a path on this host only. */
function safeNext(next: string | undefined): string {
  if (typeof next !== 'string' || !next.startsWith('/') || next.startsWith('//') || /[\\\u0000-\u001f]/.test(next)) return homePath;
  return next;
}

/**
 * The origin browsers see this host at: HOST_PUBLIC_BASE when set, else the request's own.
 * (The iframe SDK checks it against what the browser reports, so a wrong Host header only breaks its own page.)
 */
function hostOrigin(request: FastifyRequest, env: Readonly<Record<string, string | undefined>>): string {
  if (env.HOST_PUBLIC_BASE) return new URL(env.HOST_PUBLIC_BASE).origin;
  return `${request.protocol}://${request.host}`;
}
