import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { joinFleet } from '../../host/core/fleet-secrets.ts';
import { ensureInfraSecrets, type InfraSecrets } from '../../host/core/infra-secrets.ts';
import { openStore } from '../../host/core/store.ts';
import { tempDir } from './temp-dir.ts';

const dir = tempDir('alga-fleet-secrets-');
afterAll(() => dir.remove());

/** The same secrets after a session-key rotation that keeps the old key for verifying. */
function rotatedSession(secrets: InfraSecrets): InfraSecrets {
  const fresh = { keyId: `s${randomBytes(4).toString('hex')}`, key: randomBytes(32) };
  return { ...secrets, sessionKey: fresh.key, sessionKeys: { activeKeyId: fresh.keyId, entries: [fresh, ...secrets.sessionKeys.entries.map((entry) => ({ ...entry, inactiveSince: new Date().toISOString() }))] } };
}

describe('joining a fleet with the fleet\'s secrets', () => {
  it('admits nodes that share the keys (also across a rotation) and refuses a folder that made its own', async () => {
    const store = openStore(join(dir.path, 'store'));
    try {
      const fleet = ensureInfraSecrets(join(dir.path, 'first'), { profile: 'appliance' });
      const stranger = ensureInfraSecrets(join(dir.path, 'fresh'), { profile: 'appliance' });
      joinFleet(store, fleet);
      joinFleet(store, fleet);
      const rotated = rotatedSession(fleet);
      joinFleet(store, rotated);
      joinFleet(store, fleet);
      let caught: unknown;
      try {
        joinFleet(store, stranger);
      } catch (error) {
        caught = error;
      }
      expect((caught as { code?: string }).code).toBe('E_FLEET_SECRETS_MISMATCH');
      expect((caught as Error).message).toContain('session, runner, encryption, serviceToken');
      // Only the session keys differ: only they are named.
      expect(() => joinFleet(store, { ...fleet, sessionKeys: stranger.sessionKeys, sessionKey: stranger.sessionKey })).toThrow(/No key in common: session\./);
    } finally {
      await store.close();
    }
  });
});
