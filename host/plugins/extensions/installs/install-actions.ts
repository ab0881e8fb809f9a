import { actorOf, type Principal } from '../../../core/auth/index.ts';
import type { AuditLog } from '../../../core/audit.ts';
import type { HostEvents } from '../../../core/events.ts';
import type { InstallRecord, InstallStore } from './install-store.ts';
import type { InstallInput, InstallService } from './installs.ts';

/**
 * Install changes as a tenant admin makes them, from the API or the console: the change, its audit
 * entry and its event, the same way whichever door it came through. Secrets' values never reach
 * the audit log, only their names and whether they changed.
 */
export interface InstallActions {
  create(principal: Principal | undefined, tenantId: string, extensionId: string, input: InstallInput): InstallRecord;
  update(principal: Principal | undefined, tenantId: string, extensionId: string, input: InstallInput): InstallRecord;
  remove(principal: Principal | undefined, tenantId: string, extensionId: string): InstallRecord;
}

export function installActions(options: { service: InstallService; installs: InstallStore; audit: AuditLog; events: HostEvents }): InstallActions {
  const { service, installs, audit, events } = options;
  return {
    create(principal, tenantId, extensionId, input) {
      const install = service.create(tenantId, extensionId, input);
      audit.record({ action: 'install.created', actor: actorOf(principal), tenantId, target: `${extensionId}@${install.version}`, detail: { grants: install.grants, egress: install.egress, secretNames: install.secretNames } });
      events.emit('install.saved', { tenantId, extensionId, version: install.version });
      return install;
    },
    update(principal, tenantId, extensionId, input) {
      const before = installs.get(tenantId, extensionId);
      const install = service.update(tenantId, extensionId, input);
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
  };
}
