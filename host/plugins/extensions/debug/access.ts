import { AlgaError } from '../../../../lib/errors/index.ts';
import { Scope, hasScope, type Principal } from '../../../core/auth/index.ts';

/**
 * The tenant whose debug events `principal` may read: its own tenant when it holds `ext:debug`
 * there; any tenant it names when it is an operator without a tenant (admin). Throws otherwise.
 */
export function debugTenantOf(principal: Principal | undefined, requestedTenant: string | undefined): string {
  if (!principal) throw new AlgaError('E_AUTH_REQUIRED');
  if (!hasScope(principal, Scope.extDebug)) throw new AlgaError('E_AUTH_FORBIDDEN', `Debug streams need the "${Scope.extDebug}" scope.`);
  if (principal.tenantId !== undefined) {
    if (requestedTenant !== undefined && requestedTenant !== principal.tenantId) {
      throw new AlgaError('E_AUTH_FORBIDDEN', 'Debug access is granted for your own tenant only.');
    }
    return principal.tenantId;
  }
  if (!requestedTenant) throw new AlgaError('E_REQUEST_INVALID', 'Name the tenant to debug with ?tenantId=.');
  return requestedTenant;
}
