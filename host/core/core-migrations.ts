import type { Migration } from './store.ts';

/** Forward migrations of the core area (tenants, users, tokens, sessions, audit). */
export const coreMigrations: readonly Migration[] = [
  {
    version: 1,
    description: 'core databases',
    up(store) {
      store.db('core.tenants');
      store.db('core.users');
      store.db('core.usernames');
      store.db('core.tokens');
      store.db('core.token-ids');
      store.db('core.sessions');
      store.db('core.audit');
    },
  },
];
