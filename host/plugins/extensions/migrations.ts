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
];
