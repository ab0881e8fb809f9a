import { createHash } from 'node:crypto';
import { AlgaError } from '../../lib/errors/index.ts';
import type { InfraSecrets } from './infra-secrets.ts';
import type { HostStore } from './store.ts';

const fleetDb = 'fleet.meta';
const fingerprintKey = 'secrets-fingerprint';

/**
 * A one-way fingerprint of the secrets every node of a fleet must share: the session key (a
 * cookie from one node is valid on the next), the runner service token and key pair (installs
 * sealed on one node open on every runner), and the active encryption key.
 */
export function secretsFingerprint(secrets: InfraSecrets): string {
  const hash = createHash('sha256').update('alga fleet secrets v1\u0000');
  hash.update(secrets.sessionKey).update('\u0000');
  hash.update(secrets.runnerServiceToken).update('\u0000');
  hash.update(secrets.runnerKeyPair.publicKey).update('\u0000');
  hash.update(secrets.encryptionKeys.activeKeyId).update('\u0000');
  hash.update(secrets.encryptionKeys.keys[secrets.encryptionKeys.activeKeyId] ?? '');
  return hash.digest('hex');
}

/**
 * The first node records the fingerprint; a node whose secrets differ (a fresh data folder that
 * generated its own) is refused before it serves anything it could not read or would sign wrongly.
 */
export function joinFleet(store: HostStore, secrets: InfraSecrets): void {
  const fingerprint = secretsFingerprint(secrets);
  const recorded = store.transaction(() => {
    const db = store.db<string, string>(fleetDb);
    const existing = db.get(fingerprintKey);
    if (existing === undefined) db.putSync(fingerprintKey, fingerprint);
    return existing ?? fingerprint;
  });
  if (recorded !== fingerprint) throw new AlgaError('E_FLEET_SECRETS_MISMATCH');
}
