import type { FastifyRequest } from 'fastify';
import { Scope, hasScope, type HostAuth, type Principal } from '../../../core/auth/index.ts';
import type { ConsoleViewer } from '../../../web/console/chrome.ts';

export type ViewerLookup =
  | { kind: 'signed-out' }
  | { kind: 'not-allowed'; principal: Principal }
  /** An operator without a tenant who has not named one (or named one that does not exist). */
  | { kind: 'choose-tenant'; principal: Principal; base: Omit<ConsoleViewer, 'tenantId' | 'tenantName'> }
  | { kind: 'ok'; principal: Principal; viewer: ConsoleViewer };

/**
 * Who is looking at a console page: a signed-in user (pages never act for API tokens), the tenant
 * the page is about (the user's own; an operator without one names it with `?tenantId=`), and
 * what the user may do there.
 */
export function consoleViewer(request: FastifyRequest, auth: HostAuth): ViewerLookup {
  const principal = auth.principalOf(request);
  if (!principal || principal.kind !== 'user') return { kind: 'signed-out' };
  if (!hasScope(principal, Scope.installsRead)) return { kind: 'not-allowed', principal };
  const base = {
    user: { name: principal.name, tenantId: principal.tenantId ?? '(no tenant)' },
    canManage: hasScope(principal, Scope.installsWrite),
    canDebug: hasScope(principal, Scope.extDebug),
  };
  if (principal.tenantId !== undefined) {
    const tenant = auth.getTenant(principal.tenantId);
    return { kind: 'ok', principal, viewer: { ...base, tenantId: principal.tenantId, tenantName: tenant?.name ?? principal.tenantId } };
  }
  const named = (request.query as { tenantId?: unknown } | undefined)?.tenantId;
  const tenant = typeof named === 'string' && hasScope(principal, Scope.admin) ? auth.getTenant(named) : undefined;
  if (!tenant) return { kind: 'choose-tenant', principal, base };
  return { kind: 'ok', principal, viewer: { ...base, tenantId: tenant.id, tenantName: tenant.name, namedTenant: tenant.id } };
}
