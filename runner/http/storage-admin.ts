import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import { AlgaError } from '../../lib/errors/index.ts';
import { HostError } from '../capabilities/factor.ts';
import { isIdentifier } from '../execute-request.ts';
import type { Runner } from '../runner.ts';

/**
 * `DELETE /v1/storage/{tenantId}/{extensionId}[?retire_install={installId}]` (service token):
 * deletes that tenant's storage of that extension — every key and its version, the quota
 * usage — in one transaction. The host calls it when a tenant uninstalls with
 * `?purge=storage`, naming the removed install, so a request of it still running writes nothing
 * after the purge. Answers `{purged: true, keys}`.
 */
export function registerStorageAdmin(app: FastifyInstance, runner: Runner, requireToken: onRequestHookHandler): void {
  app.delete<{ Params: { tenantId: string; extensionId: string }; Querystring: { retire_install?: unknown } }>('/v1/storage/:tenantId/:extensionId', { onRequest: requireToken }, async (request) => {
    const { tenantId, extensionId } = request.params;
    const retireInstall = request.query.retire_install;
    if (retireInstall !== undefined && !isIdentifier(retireInstall)) {
      throw new AlgaError('E_RUNNER_STORAGE_NAMESPACE_INVALID', 'retire_install must be one install id.');
    }
    try {
      const keys = await runner.storage.purge({ tenantId, extensionId }, retireInstall);
      return { purged: true, keys };
    } catch (error) {
      if (error instanceof HostError) throw new AlgaError('E_RUNNER_STORAGE_NAMESPACE_INVALID', error.val);
      throw error;
    }
  });
}
