import { watch, type FSWatcher } from 'node:fs';
import { isAlgaError } from '../../../lib/errors/index.ts';
import { loadInfraSecrets, secretsDir, type InfraSecrets, type Profile } from '../infra-secrets.ts';
import type { Keyring } from './keyring.ts';

/**
 * A running host follows its secrets folder: when `alga-host rotate-key` rewrites a key file,
 * the host reads every secret again through the one validator and swaps the new values into the
 * InfraSecrets object everything reads from (new sessions, license tokens, download links and
 * sealed secrets use the new key at once; what the old key made stays valid, its keyring
 * entry kept). A file that does not validate is logged and ignored: the host keeps the keys it has.
 */

export interface SecretsReloadLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** The key ids of each keyring, to say in the log what changed (never a key). */
function keyIds(secrets: InfraSecrets): Record<string, string> {
  const rings: Record<string, Keyring<unknown> | undefined> = {
    session: secrets.sessionKeys,
    runnerEnvelope: secrets.runnerKeys,
    licenseSigning: secrets.licenseSigningKeys,
    downloadLink: secrets.downloadLinkKeys,
  };
  const ids: Record<string, string> = { encryption: `${secrets.encryptionKeys.activeKeyId} (${Object.keys(secrets.encryptionKeys.keys).join(',')})` };
  for (const [name, ring] of Object.entries(rings)) if (ring) ids[name] = `${ring.activeKeyId} (${ring.entries.map((entry) => entry.keyId).join(',')})`;
  return ids;
}

export function watchInfraSecrets(options: { dataDir: string; profile: Profile; secrets: InfraSecrets; log: SecretsReloadLog; onReload?: (secrets: InfraSecrets) => void }): { reloadNow(): boolean; close(): void } {
  const { secrets, log } = options;
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;

  function reloadNow(): boolean {
    let fresh: InfraSecrets;
    try {
      fresh = loadInfraSecrets(options.dataDir, { profile: options.profile });
    } catch (error) {
      log.error({ code: isAlgaError(error) ? error.code : undefined, reason: isAlgaError(error) ? error.message : (error as Error).message }, 'infra secrets changed on disk but do not validate; keeping the keys in use');
      return false;
    }
    const before = keyIds(secrets);
    const after = keyIds(fresh);
    const changed = Object.keys(after).filter((name) => before[name] !== after[name]);
    if (changed.length === 0) return false;
    // The runner key pair object is shared with the runner handle: change it in place. The runner
    // service token is not rotated this way (the runner got it at spawn): it stays as started.
    Object.assign(secrets.runnerKeyPair, fresh.runnerKeyPair);
    const { runnerKeyPair: _shared, runnerServiceToken: _asStarted, ...rest } = fresh;
    Object.assign(secrets, rest);
    log.info({ keys: Object.fromEntries(changed.map((name) => [name, after[name]])) }, 'infra secrets reloaded');
    options.onReload?.(secrets);
    return true;
  }

  try {
    watcher = watch(secretsDir(options.dataDir), () => {
      if (timer) clearTimeout(timer);
      timer = setTimeout(reloadNow, 50);
      timer.unref();
    });
    watcher.unref();
  } catch (error) {
    log.error({ reason: (error as Error).message }, 'cannot watch the secrets folder; key rotations apply from the next start');
  }

  return {
    reloadNow,
    close() {
      if (timer) clearTimeout(timer);
      watcher?.close();
    },
  };
}
