import type { FastifyInstance } from 'fastify';
import type { AuditLog } from '../audit.ts';
import { Scope, type HostAuth, type Role, type TokenKind } from '../auth/index.ts';
import { dateParam, wholeNumberParam } from '../query-params.ts';
import { strictValidatorCompiler } from '../strict-validation.ts';

/**
 * Operator API under /api/admin (admin session or a token with the `admin` scope):
 * tenants, users, API tokens and the audit log.
 */
export function registerAdminRoutes(app: FastifyInstance, auth: HostAuth, audit: AuditLog): void {
  app.register(async (admin) => {
    admin.setValidatorCompiler(strictValidatorCompiler);
    admin.addHook('onRequest', auth.requireScope(Scope.admin));

    admin.post<{ Body: { id?: string; name: string } }>('/tenants', {
      schema: { body: { type: 'object', required: ['name'], additionalProperties: false, properties: { id: { type: 'string' }, name: { type: 'string' } } } },
    }, async (request, reply) => {
      const tenant = auth.createTenant(request.body, auth.principalOf(request));
      return reply.status(201).send({ tenant });
    });

    admin.get('/tenants', async () => ({ tenants: auth.listTenants() }));

    admin.post<{ Body: { username: string; password: string; role: Role; tenantId?: string } }>('/users', {
      schema: {
        body: {
          type: 'object', required: ['username', 'password', 'role'], additionalProperties: false,
          properties: { username: { type: 'string' }, password: { type: 'string' }, role: { enum: ['admin', 'tenant-admin', 'member'] }, tenantId: { type: 'string' } },
        },
      },
    }, async (request, reply) => {
      const user = await auth.createUser(request.body, auth.principalOf(request));
      return reply.status(201).send({ user });
    });

    admin.get<{ Querystring: { tenantId?: string } }>('/users', async (request) => ({ users: auth.listUsers({ tenantId: request.query.tenantId }) }));

    // An admin account suspended by `alga-host reset-claim` signs in again once an admin vouches for it.
    admin.post<{ Params: { id: string } }>('/users/:id/reactivate', async (request) => ({ user: auth.reactivateUser(request.params.id, auth.principalOf(request)) }));

    admin.post<{ Body: { kind: TokenKind; label?: string; tenantId?: string; publisher?: string; scopes?: string[]; expiresAt?: string } }>('/tokens', {
      schema: {
        body: {
          type: 'object', required: ['kind'], additionalProperties: false,
          properties: {
            kind: { enum: ['tenant', 'publisher', 'service'] }, label: { type: 'string', maxLength: 200 }, tenantId: { type: 'string' },
            publisher: { type: 'string' }, scopes: { type: 'array', items: { type: 'string' } }, expiresAt: { type: 'string' },
          },
        },
      },
    }, async (request, reply) => {
      const { token, record } = auth.createToken(request.body, auth.principalOf(request));
      return reply.status(201).send({ token, record });
    });

    admin.get<{ Querystring: { tenantId?: string } }>('/tokens', async (request) => ({ tokens: auth.listTokens({ tenantId: request.query.tenantId }) }));

    admin.delete<{ Params: { id: string } }>('/tokens/:id', async (request) => ({ revoked: auth.revokeToken(request.params.id, auth.principalOf(request)) }));

    admin.get<{ Querystring: { tenantId?: string; action?: string; since?: string; limit?: string } }>('/audit', async (request) => {
      const { tenantId, action, since, limit } = request.query;
      return { entries: audit.list({ tenantId, action, since: dateParam(since, 'since'), limit: wholeNumberParam(limit, 'limit', { min: 1, max: 1000 }) }) };
    });
  }, { prefix: '/api/admin' });
}
