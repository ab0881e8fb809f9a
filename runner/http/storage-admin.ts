import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { AlgaError } from '../../lib/errors/index.ts';
import { HostError } from '../capabilities/factor.ts';
import type { Runner } from '../runner.ts';

/**
 * `DELETE /v1/storage/{tenantId}/{extensionId}` (service token): deletes that tenant's storage
 * of that extension — every key, its quota usage and versions — in one transaction. The host
 * calls it when a tenant uninstalls with `?purge=storage`. Answers `{purged: true, keys}`.
 */
export function registerStorageAdmin(app: FastifyInstance, runner: Runner, requireToken: onRequestHookHandler): void {
  app.delete<{ Params: { tenantId: string; extensionId: string } }>('/v1/storage/:tenantId/:extensionId', { onRequest: requireToken }, async (request) => {
    const { tenantId, extensionId } = request.params;
    try {
      const keys = await runner.storage.purge({ tenantId, extensionId });
      return { purged: true, keys };
    } catch (error) {
      if (error instanceof HostError) throw new AlgaError('E_RUNNER_STORAGE_NAMESPACE_INVALID', error.val);
      throw error;
    }
  });
}
