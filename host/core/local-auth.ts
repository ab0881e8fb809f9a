import { existsSync } from 'node:fs';
import { createAuditLog } from './audit.ts';
import { createAuth, type HostAuth } from './auth/index.ts';
import { resolveHostConfig } from './config.ts';
import { coreMigrations } from './core-migrations.ts';
import { joinFleet } from './fleet-secrets.ts';
import { ensureInfraSecrets } from './infra-secrets.ts';
import { storageErrorOf } from '../../lib/storage-faults.ts';
import { openHostStore } from './store-engine.ts';
import { storePathOf } from './store.ts';

/**
 * The host's accounts and API tokens opened straight from its data folder, for operator commands
 * on the machine (`alga-host tenant|user|token create`): whoever can run them already has file
 * access to the host. Safe while the host runs: LMDB serialises writers across processes, and
 * the host sees the change on its next request. On a fresh folder it follows the start order —
 * infra secrets first, then the store — so the host starts on that folder afterwards. With
 * ALGA_DATABASE_URL set they write the fleet's PostgreSQL store instead (from a node's folder: its secrets must be the fleet's).
 */
export async function withLocalAuth<T>(
  options: { dataDir?: string; profile?: string; /** Told, after the action succeeded, when the folder held no host store before (one was made there). */ onFreshFolder?: (dataDir: string) => void },
  action: (auth: HostAuth, dataDir: string) => T | Promise<T>,
): Promise<T> {
  const config = resolveHostConfig(options);
  const fresh = !config.fleet.databaseUrl && !existsSync(storePathOf(config.dataDir));
  const secrets = ensureInfraSecrets(config.dataDir, { profile: config.profile });
  const store = openHostStore(config, 'alga-host operator command');
  try {
    if (config.fleet.databaseUrl) joinFleet(store, secrets);
    store.migrate('core', coreMigrations);
    const result = await action(createAuth({ store, audit: createAuditLog(store) }), config.dataDir);
    if (fresh) options.onFreshFolder?.(config.dataDir);
    return result;
  } catch (error) {
    // A write the disk refused is the catalog's E_STORAGE_FULL / E_STORAGE_FAILED, not an unexpected failure.
    throw storageErrorOf(error, config.dataDir) ?? error;
  } finally {
    await store.close();
  }
}
