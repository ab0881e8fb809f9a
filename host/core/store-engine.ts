import { openPostgresStore } from './postgres/postgres-store.ts';
import type { FleetSettings } from './fleet-config.ts';
import { openStore, type HostStore } from './store.ts';

/**
 * The host store of this node: PostgreSQL when a database is configured (a fleet node; every
 * node sees the same state), else LMDB under the data folder (the embedded default).
 */
export function openHostStore(config: { dataDir: string; fleet: Pick<FleetSettings, 'databaseUrl'> }, applicationName = 'alga-host'): HostStore {
  return config.fleet.databaseUrl ? openPostgresStore({ url: config.fleet.databaseUrl, applicationName }) : openStore(config.dataDir);
}
