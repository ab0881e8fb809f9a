import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { capabilityByInterface } from '../../../../lib/bundle/capabilities.ts';
import { AlgaError } from '../../../../lib/errors/index.ts';
import type { InstallStore } from '../installs/install-store.ts';
import type { HostRoute } from './host-routes.ts';

/** Where the runner's `alga.ui_proxy` calls land: `POST {UI_PROXY_BASE_URL}/api/ui-proxy/{route}`. */
export const uiProxyRouteBase = '/api/ui-proxy';

export interface UiProxyRouteOptions {
  installs: InstallStore;
  routes: ReadonlyMap<string, HostRoute>;
  /** The key the runner presents as `Authorization: Bearer …` (see host/core/runner/ui-proxy-key.ts). */
  authKey: string;
  metrics: Registry;
}

const maxPayloadBytes = 64 * 1024;

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The host side of `alga.ui_proxy`. Only the runner holds the key; the tenant, extension and
 * install it names must be a real, enabled install with the capability granted.
 */
export async function uiProxyRoutes(app: FastifyInstance, options: UiProxyRouteOptions): Promise<void> {
  const expectedKey = digest(options.authKey);
  const calls = new Counter({ name: 'alga_ui_proxy_calls_total', help: 'Host routes called by extensions through alga.ui_proxy, by route and outcome.', labelNames: ['route', 'code'], registers: [options.metrics] });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxPayloadBytes }, (_request, body, done) => done(null, body));

  /** Compares digests so neither the key's length nor its prefix shows in the timing. */
  function presentsKey(request: FastifyRequest): boolean {
    const header = request.headers.authorization;
    if (typeof header !== 'string' || !header.startsWith('Bearer ')) return false;
    return timingSafeEqual(digest(header.slice('Bearer '.length)), expectedKey);
  }

  function header(request: FastifyRequest, name: string): string {
    const value = request.headers[name];
    if (typeof value !== 'string' || value === '') throw new AlgaError('E_REQUEST_INVALID', `The ${name} header is missing.`);
    return value;
  }

  const routeLabelOf = (name: string) => (options.routes.has(name) ? name : 'unknown');

  // The key is checked on the headers, before the payload is read.
  const requireKey = async (request: FastifyRequest<{ Params: { '*': string } }>) => {
    if (presentsKey(request)) return;
    calls.inc({ route: routeLabelOf(request.params['*']), code: 'E_AUTH_REQUIRED' });
    throw new AlgaError('E_AUTH_REQUIRED', 'Host routes for extensions answer only the runner.');
  };

  app.post<{ Params: { '*': string } }>('/*', { bodyLimit: maxPayloadBytes, onRequest: requireKey }, async (request, reply) => {
    const name = request.params['*'];
    const routeLabel = routeLabelOf(name);
    try {
      const tenantId = header(request, 'x-alga-tenant');
      const extensionId = header(request, 'x-alga-extension');
      const installId = header(request, 'x-alga-install');
      const install = options.installs.get(tenantId, extensionId);
      if (!install || !install.enabled || install.id !== installId || !install.grants.includes(capabilityByInterface['ui-proxy'])) {
        throw new AlgaError('E_AUTH_FORBIDDEN', 'The install is unknown, disabled, or not granted alga.ui_proxy.');
      }
      const route = options.routes.get(name);
      if (!route) throw new AlgaError('E_NOT_FOUND', `No host route "${name}" for extensions.`);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const answer = await route({ install, payload: body });
      calls.inc({ route: routeLabel, code: '' });
      return reply.type('application/json').send(JSON.stringify(answer));
    } catch (error) {
      calls.inc({ route: routeLabel, code: error instanceof AlgaError ? error.code : 'E_INTERNAL' });
      throw error;
    }
  });
}
