import { createAuditLog } from './audit.ts';
import { createAuth, type HostAuth } from './auth/index.ts';
import { resolveHostConfig } from './config.ts';
import { coreMigrations } from './core-migrations.ts';
import { ensureInfraSecrets } from './infra-secrets.ts';
import { storageErrorOf } from '../../lib/storage-faults.ts';
import { openStore } from './store.ts';

/**
 * The host's accounts and API tokens opened straight from its data folder, for operator commands
 * on the machine (`alga-host tenant|user|token create`): whoever can run them already has file
 * access to the host. Safe while the host runs: LMDB serialises writers across processes, and
 * the host sees the change on its next request. On a fresh folder it follows the start order —
 * infra secrets first, then the store — so the host starts on that folder afterwards.
 */
export async function withLocalAuth<T>(options: { dataDir?: string; profile?: string }, action: (auth: HostAuth, dataDir: string) => T | Promise<T>): Promise<T> {
  const config = resolveHostConfig(options);
  ensureInfraSecrets(config.dataDir, { profile: config.profile });
  const store = openStore(config.dataDir);
  try {
    store.migrate('core', coreMigrations);
    return await action(createAuth({ store, audit: createAuditLog(store) }), config.dataDir);
  } catch (error) {
    // A write the disk refused is the catalog's E_STORAGE_FULL / E_STORAGE_FAILED, not an unexpected failure.
    throw storageErrorOf(error, config.dataDir) ?? error;
  } finally {
    await store.close();
  }
}
