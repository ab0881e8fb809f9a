import { AlgaError } from '../../../../lib/errors/index.ts';
import type { RunnerHandle } from '../../../core/runner/handle.ts';

const purgeTimeoutMs = 15_000;

/**
 * Asks the runner to delete one tenant's `alga.storage` data of one extension
 * (`DELETE /v1/storage/{tenant}/{extension}`, one transaction there). `retireInstall` names an
 * install that was removed: its requests still running may write nothing after the purge.
 * Resolves with the number of keys deleted; anything short of the runner's confirmation is
 * E_STORAGE_PURGE_FAILED.
 */
export async function purgeExtensionStorage(runner: RunnerHandle, tenantId: string, extensionId: string, retireInstall?: string): Promise<{ keys: number }> {
  const baseUrl = runner.baseUrl();
  if (!baseUrl || !runner.isAvailable()) throw new AlgaError('E_STORAGE_PURGE_FAILED', 'The runner is not running.');
  const query = retireInstall === undefined ? '' : `?retire_install=${encodeURIComponent(retireInstall)}`;
  let response: Response;
  try {
    response = await fetch(`${baseUrl}/v1/storage/${encodeURIComponent(tenantId)}/${encodeURIComponent(extensionId)}${query}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${runner.serviceToken}` },
      signal: AbortSignal.timeout(purgeTimeoutMs),
    });
  } catch (error) {
    const reason = (error as Error).name === 'TimeoutError' ? `no answer within ${purgeTimeoutMs} ms` : 'the runner could not be reached';
    throw new AlgaError('E_STORAGE_PURGE_FAILED', `The runner gave no answer (${reason}).`);
  }
  const answer = (await response.json().catch(() => undefined)) as { purged?: boolean; keys?: number; error?: { code?: string } } | undefined;
  if (!response.ok || answer?.purged !== true) {
    throw new AlgaError('E_STORAGE_PURGE_FAILED', `The runner answered ${response.status}${answer?.error?.code ? ` ${answer.error.code}` : ''}.`);
  }
  return { keys: typeof answer.keys === 'number' ? answer.keys : 0 };
}
