import type { FastifyRequest } from 'fastify';
import { AlgaError } from '../../../lib/errors/index.ts';
import { Scope, hasScope, type HostAuth } from '../../core/auth/index.ts';

/**
 * The tenant a request acts for: the caller's own (session or token). An admin without a tenant
 * names one with `?tenantId=`; nobody else can choose a tenant.
 */
export function tenantOf(request: FastifyRequest, auth: HostAuth): string {
  const principal = auth.principalOf(request);
  if (!principal) throw new AlgaError('E_AUTH_REQUIRED');
  if (principal.tenantId !== undefined) return principal.tenantId;
  const named = (request.query as { tenantId?: unknown } | undefined)?.tenantId;
  if (hasScope(principal, Scope.admin) && typeof named === 'string' && named !== '') {
    if (!auth.getTenant(named)) throw new AlgaError('E_TENANT_UNKNOWN', `Tenant "${named}".`);
    return named;
  }
  throw new AlgaError('E_AUTH_FORBIDDEN', 'It needs a tenant account or tenant token (admins add ?tenantId=).');
}
