import type { HostStore } from '../../core/store.ts';

/**
 * The claim state machine, UNCLAIMED → CLAIMED, in the store (`setup.state`). An existing human
 * admin counts as CLAIMED (hosts from before this plugin, upgrades), unless `reset-claim`
 * reopened setup on purpose.
 */

export interface SetupState {
  status: 'unclaimed' | 'claimed';
  /** SHA-256 (hex) of the live setup token; the token itself is never stored. */
  tokenHash?: string;
  tokenIssuedAt?: string;
  tokenExpiresAt?: string;
  /** Set by `alga-host reset-claim`: setup is open even though an admin exists. */
  reopenedAt?: string;
  claimedAt?: string;
  claimedBy?: string;
  claimedVia?: 'web' | 'provision.env' | 'cli';
  /** The host's tenant, bound at the first claim and kept across re-claims. */
  tenantId?: string;
}

const STATE_DB = 'setup.state';
const STATE_KEY = 'state';
export const PROVIDER_KEY_DB = 'setup.provider';
export const PROVIDER_KEY_KEY = 'provider-key';

export function readSetupState(store: HostStore): SetupState {
  return store.db<SetupState, string>(STATE_DB).get(STATE_KEY) ?? { status: 'unclaimed' };
}

/** Synchronous: compose it inside `store.transaction`. */
export function writeSetupState(store: HostStore, state: SetupState): void {
  store.db<SetupState, string>(STATE_DB).putSync(STATE_KEY, state);
}

export function isClaimed(state: SetupState, hasHumanAdmin: () => boolean): boolean {
  if (state.status === 'claimed') return true;
  return state.reopenedAt === undefined && hasHumanAdmin();
}

/** Records a freshly minted token (by hash) on an unclaimed host. */
export function recordToken(store: HostStore, tokenHash: string, ttlMinutes: number | undefined, now = new Date()): SetupState {
  return store.transaction(() => {
    const state = readSetupState(store);
    const next: SetupState = {
      ...state,
      status: 'unclaimed',
      tokenHash,
      tokenIssuedAt: now.toISOString(),
      ...(ttlMinutes ? { tokenExpiresAt: new Date(now.getTime() + ttlMinutes * 60_000).toISOString() } : { tokenExpiresAt: undefined }),
    };
    writeSetupState(store, next);
    return next;
  });
}
