import { actorOf, type Principal } from '../../../core/auth/index.ts';
import type { AuditLog } from '../../../core/audit.ts';
import type { HostEvents } from '../../../core/events.ts';
import type { RunnerHandle } from '../../../core/runner/handle.ts';
import { AlgaError, isAlgaError } from '../../../../lib/errors/index.ts';
import { purgeExtensionStorage } from './storage-purge.ts';
import type { InstallRecord, InstallStore } from './install-store.ts';
import type { InstallInput, InstallService } from './installs.ts';

/**
 * Install changes as a tenant admin makes them, from the API or the console: the change, its audit
 * entry and its event, the same way whichever door it came through. Secrets' values never reach
 * the audit log, only their names and whether they changed.
 */
export interface InstallActions {
  create(principal: Principal | undefined, tenantId: string, extensionId: string, input: InstallInput): Promise<InstallRecord>;
  update(principal: Principal | undefined, tenantId: string, extensionId: string, input: InstallInput): Promise<InstallRecord>;
  remove(principal: Principal | undefined, tenantId: string, extensionId: string): InstallRecord;
  /**
   * Removes the install, then has the runner delete the tenant's storage of the extension
   * (so no new request of the install writes meanwhile). Refused before anything changes when
   * the runner is known to be down; E_STORAGE_PURGE_FAILED saying the install was removed when
   * the runner does not confirm.
   */
  removeAndPurgeStorage(principal: Principal | undefined, tenantId: string, extensionId: string): Promise<{ removed: InstallRecord; purgedKeys: number }>;
  /** Has the runner delete the tenant's storage of the extension, installed or not; the number of keys. */
  purgeStorage(principal: Principal | undefined, tenantId: string, extensionId: string): Promise<number>;
}

export function installActions(options: { service: InstallService; installs: InstallStore; audit: AuditLog; events: HostEvents; runner: RunnerHandle }): InstallActions {
  const { service, installs, audit, events, runner } = options;

  async function purge(principal: Principal | undefined, tenantId: string, extensionId: string, removed?: InstallRecord): Promise<number> {
    try {
      const { keys } = await purgeExtensionStorage(runner, tenantId, extensionId, removed?.id);
      audit.record({ action: 'install.storage_purged', actor: actorOf(principal), tenantId, target: extensionId, detail: { keys } });
      return keys;
    } catch (error) {
      audit.record({ action: 'install.storage_purged', actor: actorOf(principal), tenantId, target: extensionId, outcome: 'failed' });
      throw isAlgaError(error) ? new AlgaError(error.code, `${removed ? 'The install was removed.' : ''} ${error.detail ?? ''}`.trim()) : error;
    }
  }

  const actions: InstallActions = {
    async create(principal, tenantId, extensionId, input) {
      const install = await service.create(tenantId, extensionId, input);
      audit.record({ action: 'install.created', actor: actorOf(principal), tenantId, target: `${extensionId}@${install.version}`, detail: { grants: install.grants, egress: install.egress, secretNames: install.secretNames } });
      events.emit('install.saved', { tenantId, extensionId, version: install.version });
      return install;
    },
    async update(principal, tenantId, extensionId, input) {
      const before = installs.get(tenantId, extensionId);
      const install = await service.update(tenantId, extensionId, input);
      audit.record({
        action: 'install.updated', actor: actorOf(principal), tenantId, target: `${extensionId}@${install.version}`,
        detail: {
          fromVersion: before?.version,
          grants: install.grants,
          egress: install.egress,
          ...(before && install.enabled !== before.enabled ? { enabled: install.enabled } : {}),
          secretsReplaced: input.secrets !== undefined,
          ...(input.secretUpdates && typeof input.secretUpdates === 'object' ? { secretsChanged: Object.keys(input.secretUpdates).sort() } : {}),
          secretNames: install.secretNames,
        },
      });
      events.emit('install.saved', { tenantId, extensionId, version: install.version });
      return install;
    },
    remove(principal, tenantId, extensionId) {
      const removed = service.remove(tenantId, extensionId);
      audit.record({ action: 'install.removed', actor: actorOf(principal), tenantId, target: `${removed.extensionId}@${removed.version}` });
      events.emit('install.removed', { tenantId, extensionId: removed.extensionId });
      return removed;
    },
    async removeAndPurgeStorage(principal, tenantId, extensionId) {
      if (!runner.isAvailable()) throw new AlgaError('E_STORAGE_PURGE_FAILED', 'The runner is not running; the install was kept.');
      const removed = actions.remove(principal, tenantId, extensionId);
      return { removed, purgedKeys: await purge(principal, tenantId, removed.extensionId, removed) };
    },
    purgeStorage: (principal, tenantId, extensionId) => purge(principal, tenantId, extensionId),
  };
  return actions;
}
