import { createHash } from 'node:crypto';
import { AlgaError } from '../../lib/errors/index.ts';
import type { InfraSecrets } from './infra-secrets.ts';
import type { HostStore } from './store.ts';

const fleetDb = 'fleet.meta';
const digestsKey = 'key-digests';

/** One-way digests of the keys every node of a fleet must share, by kind. */
type KeyDigests = Record<'session' | 'runner' | 'encryption' | 'serviceToken', string[]>;

const digest = (kind: string, key: string | Buffer) => createHash('sha256').update(`alga fleet key v1\u0000${kind}\u0000`).update(key).digest('hex').slice(0, 32);

/**
 * What a node holds, as digests: the session keys (a cookie from one node is valid on the next),
 * the runner key pairs (installs sealed on one node open on every runner), the encryption keys
 * (values stored by one node read on the others) and the runner service token.
 */
export function keyDigests(secrets: InfraSecrets): KeyDigests {
  return {
    session: secrets.sessionKeys.entries.map((entry) => digest('session', entry.key)),
    runner: secrets.runnerKeys.entries.map((entry) => digest('runner', entry.key.publicKey)),
    encryption: Object.values(secrets.encryptionKeys.keys).map((key) => digest('encryption', key)),
    serviceToken: [digest('service-token', secrets.runnerServiceToken)],
  };
}

/**
 * A node joins the fleet only if, for each kind, it holds at least one key the fleet's last node
 * to join held; it then records its own. A node with a fresh data folder, which generated secrets
 * of its own, shares none and is refused before it serves anything it could not read or would
 * sign wrongly; a node whose keys were rotated still holds the earlier ones (until they are
 * retired) and joins, moving the record on.
 */
export function joinFleet(store: HostStore, secrets: InfraSecrets): void {
  const mine = keyDigests(secrets);
  const refused = store.transaction(() => {
    const db = store.db<KeyDigests, string>(fleetDb);
    const recorded = db.get(digestsKey);
    const missing = recorded ? (Object.keys(mine) as (keyof KeyDigests)[]).filter((kind) => !mine[kind].some((value) => recorded[kind]?.includes(value))) : [];
    if (missing.length === 0) db.putSync(digestsKey, mine);
    return missing;
  });
  if (refused.length > 0) throw new AlgaError('E_FLEET_SECRETS_MISMATCH', `No key in common: ${refused.join(', ')}.`);
}
