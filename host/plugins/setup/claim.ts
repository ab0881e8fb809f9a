import { randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { HostAuth, PublicUser } from '../../core/auth/index.ts';
import type { AuditLog } from '../../core/audit.ts';
import type { HostEvents } from '../../core/events.ts';
import type { InfraSecrets } from '../../core/infra-secrets.ts';
import { encryptValue } from '../../core/secrets/encryption.ts';
import type { HostStore } from '../../core/store.ts';
import { checkAdminPassword } from './password.ts';
import { isClaimed, PROVIDER_KEY_DB, PROVIDER_KEY_KEY, readSetupState, writeSetupState, type SetupState } from './state.ts';
import { removeSetupTokenFile } from './token.ts';

/**
 * The claim: the one path from UNCLAIMED to CLAIMED, shared by POST /setup/claim, the /setup
 * form, provision.env and `alga-host setup`. Everything that can fail without side effects
 * (token, password, user name) is checked first; then claim steps that talk to other services
 * (install-code redemption) run; then ONE transaction creates the tenant and admin, stores the
 * provider key encrypted, burns the token and records CLAIMED.
 */

export interface ClaimInput {
  username?: string;
  password: unknown;
  providerKey?: string;
  installCode?: string;
}

export interface PreparedClaimStep {
  /** The tenant the host must adopt (from an install code). */
  tenant?: { id: string; name: string };
  /** Runs inside the claim transaction, after the tenant and admin exist. Synchronous. */
  commit?(context: { tenantId: string; adminUserId: string }): void;
}

/** Plugins extend the claim with steps (the appliance plugin redeems install codes). */
export interface ClaimStep {
  name: string;
  /** Whether this step consumes `installCode`. */
  handlesInstallCode?: boolean;
  /** May do I/O; throwing refuses the claim with nothing changed. */
  prepare(input: ClaimInput, state: SetupState): Promise<PreparedClaimStep | undefined>;
}

export interface ClaimDeps {
  dataDir: string;
  store: HostStore;
  auth: HostAuth;
  audit: AuditLog;
  events?: HostEvents;
  secrets: Pick<InfraSecrets, 'encryptionKeys'>;
  steps: readonly ClaimStep[];
}

export interface ClaimResult {
  tenantId: string;
  admin: PublicUser;
}

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;

let queue: Promise<unknown> = Promise.resolve();
/** One claim at a time per process; the transaction re-checks the state for other processes. */
function serialized<T>(action: () => Promise<T>): Promise<T> {
  const run = queue.then(action, action);
  queue = run.catch(() => undefined);
  return run;
}

export function claimHost(deps: ClaimDeps, input: ClaimInput, options: { via: SetupState['claimedVia']; authorize?: (state: SetupState) => void }): Promise<ClaimResult> {
  return serialized(async () => {
    const { store, auth } = deps;
    const state = readSetupState(store);
    if (isClaimed(state, () => auth.hasHumanAdmin())) throw new AlgaError('E_SETUP_CLAIMED');
    options.authorize?.(state);

    const username = input.username?.trim() || 'admin';
    if (!USERNAME.test(username)) throw new AlgaError('E_SETUP_BAD_REQUEST', 'The user name is 1-128 letters, digits, ".", "_", "@" or "-".');
    checkAdminPassword(input.password);
    if (auth.listUsers().some((user) => user.username.toLowerCase() === username.toLowerCase())) {
      throw new AlgaError('E_SETUP_BAD_REQUEST', `A user named "${username}" already exists; choose another user name.`);
    }
    if (input.providerKey !== undefined && (typeof input.providerKey !== 'string' || input.providerKey.length > 4096)) {
      throw new AlgaError('E_SETUP_BAD_REQUEST', 'The provider key must be text of at most 4096 characters.');
    }
    const installCode = input.installCode?.trim() || undefined;
    if (installCode && !deps.steps.some((step) => step.handlesInstallCode)) {
      throw new AlgaError('E_SETUP_BAD_REQUEST', 'This host does not take install codes (the appliance plugin is not loaded).');
    }
    const passwordHash = await auth.hashPassword(input.password);

    const prepared: PreparedClaimStep[] = [];
    for (const step of deps.steps) {
      const result = await step.prepare({ ...input, username, installCode }, state);
      if (result) prepared.push(result);
    }
    const adoptedTenant = prepared.find((step) => step.tenant)?.tenant;

    const result = store.transaction((): ClaimResult => {
      const current = readSetupState(store);
      if (isClaimed(current, () => auth.hasHumanAdmin()) || current.tokenHash !== state.tokenHash) throw new AlgaError('E_SETUP_CLAIMED');
      let tenantId = current.tenantId ?? adoptedTenant?.id;
      if (adoptedTenant && current.tenantId && adoptedTenant.id !== current.tenantId) {
        throw new AlgaError('E_SETUP_BAD_REQUEST', `This host already belongs to tenant ${current.tenantId}; the install code is for another tenant.`);
      }
      if (!tenantId) tenantId = `tnt_${randomBytes(9).toString('base64url')}`;
      if (!auth.getTenant(tenantId)) auth.createTenant({ id: tenantId, name: adoptedTenant?.name ?? 'Local tenant' });
      const admin = auth.putUserWithHash({ username, passwordHash, role: 'admin', tenantId });
      if (input.providerKey) store.db<string, string>(PROVIDER_KEY_DB).putSync(PROVIDER_KEY_KEY, encryptValue(input.providerKey, deps.secrets.encryptionKeys));
      for (const step of prepared) step.commit?.({ tenantId, adminUserId: admin.id });
      const claimed: SetupState = {
        status: 'claimed',
        claimedAt: new Date().toISOString(),
        claimedBy: admin.id,
        claimedVia: options.via,
        tenantId,
      };
      writeSetupState(store, claimed);
      return { tenantId, admin };
    });
    removeSetupTokenFile(deps.dataDir);
    deps.audit.record({ action: 'setup.claimed', actor: `user:${result.admin.id}`, tenantId: result.tenantId, detail: { via: options.via, installCode: Boolean(installCode), providerKey: Boolean(input.providerKey) } });
    deps.events?.emit('setup.claimed', { tenantId: result.tenantId, adminUserId: result.admin.id, via: options.via });
    return result;
  });
}
