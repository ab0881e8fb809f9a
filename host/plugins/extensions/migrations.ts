import type { Migration } from '../../core/store.ts';

/** Forward migrations of the extensions plugin's databases. */
export const extensionsMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'registry, installs, execution log, usage',
    up(store) {
      for (const name of ['ext.extensions', 'ext.versions', 'ext.bundles', 'ext.installs', 'ext.executions', 'ext.usage']) store.db(name);
    },
  },
  {
    version: 2,
    description: 'execution log rows by time (for its age, row and size caps)',
    up(store) {
      const byTime = store.db<null, [number, string, string, string]>('ext.executions.by-time');
      for (const { key } of store.db<unknown, [string, string, number, string]>('ext.executions').getRange({})) {
        const [tenantId, extensionId, time, requestId] = key;
        byTime.putSync([time, tenantId, extensionId, requestId], null);
      }
    },
  },
  {
    version: 3,
    description: 'rebuild checks of published versions that carry their source',
    up(store) {
      store.db('ext.rebuild-checks');
    },
  },
];
