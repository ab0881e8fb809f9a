import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { HostAuth } from '../auth/index.ts';
import { isCrossOriginWrite } from '../request-site.ts';

/** A page of another site must not sign the browser in (as the attacker: login CSRF) or out. */
async function refuseCrossSite(request: FastifyRequest): Promise<void> {
  if (isCrossOriginWrite(request)) throw new AlgaError('E_CROSS_SITE_REQUEST');
}

/** Browser sign-in: POST /api/auth/login sets the session cookie; /logout ends it; /me says who you are. */
export function registerAuthRoutes(app: FastifyInstance, auth: HostAuth): void {
  app.post<{ Body: { username?: unknown; password?: unknown } }>('/api/auth/login', {
    onRequest: refuseCrossSite,
    config: { rateLimit: { max: 10, timeWindow: '1 minute' } },
  }, async (request, reply) => {
    const { username, password } = request.body ?? {};
    if (typeof username !== 'string' || typeof password !== 'string') throw new AlgaError('E_REQUEST_INVALID', 'Send {"username", "password"}.');
    const user = await auth.verifyPassword(username, password);
    if (!user) throw new AlgaError('E_LOGIN_FAILED');
    auth.issueSession(reply, user);
    return { user: { id: user.id, username: user.username, role: user.role, tenantId: user.tenantId ?? null } };
  });

  app.post('/api/auth/logout', { onRequest: refuseCrossSite }, async (request, reply) => {
    auth.endSession(request, reply);
    return { ok: true };
  });

  app.get('/api/auth/me', async (request) => {
    const principal = auth.principalOf(request);
    if (!principal) throw new AlgaError('E_AUTH_REQUIRED');
    return { principal: { kind: principal.kind, id: principal.id, name: principal.name, tenantId: principal.tenantId ?? null, role: principal.role ?? null, scopes: principal.scopes } };
  });
}
