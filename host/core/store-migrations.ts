import { AlgaError } from '../../lib/errors/index.ts';
import type { HostStore, Migration } from './store.ts';

export const storeMetaDb = 'core.meta';

/** The schema version an area's migrations brought it to (0: none yet). Kept in the store itself. */
export function readSchemaVersion(store: HostStore, area: string): number {
  return (store.db<number, string>(storeMetaDb).get(`schema:${area}`) ?? 0) as number;
}

/** Brings `area` to its newest migration, each step in its own transaction with its version. The same for every engine. */
export function applyMigrations(store: HostStore, area: string, migrations: readonly Migration[]): void {
  const ordered = [...migrations].sort((a, b) => a.version - b.version);
  const newest = ordered.at(-1)?.version ?? 0;
  const current = readSchemaVersion(store, area);
  if (current > newest) {
    throw new AlgaError('E_STORE_SCHEMA_NEWER', `Area "${area}" is at schema ${current}; this host knows up to ${newest}.`);
  }
  for (const migration of ordered) {
    if (migration.version <= current) continue;
    try {
      store.transaction(() => {
        migration.up(store);
        store.db<number, string>(storeMetaDb).putSync(`schema:${area}`, migration.version);
      });
    } catch (cause) {
      if (cause instanceof AlgaError) throw cause;
      throw new AlgaError('E_STORE_MIGRATION_FAILED', `Area "${area}" migration ${migration.version} (${migration.description}): ${(cause as Error).message}`, { cause });
    }
  }
}
