import { AlgaError } from '../../../lib/errors/index.ts';
import { definePlugin, type HostContext } from '../../core/plugin.ts';
import type { SetupApi } from '../setup/index.ts';
import { startCheckinSchedule } from './checkin.ts';
import { installCodeStep } from './install-code-step.ts';
import { parsePinnedKeys } from './license-service.ts';
import { applianceId, readLicenseState, type LicenseState } from './license-state.ts';

/**
 * Appliance first boot: the claim also takes an install code, redeemed against
 * ALGA_LICENSE_SERVICE_URL; the license state is seeded and (paid editions) refreshed by
 * check-in. Status at GET /api/license.
 */

function licenseStatus(state: LicenseState | undefined, tenantId: string | undefined) {
  if (!state) return { tenant_id: tenantId ?? null, edition: null, status: 'unlicensed', licensed: false };
  const expired = state.tokenExpiresAt !== undefined && Date.parse(state.tokenExpiresAt) <= Date.now();
  const status = state.revoked ? 'revoked' : state.edition === 'essentials' ? 'essentials' : !state.token || expired ? 'expired' : 'active';
  return {
    tenant_id: state.tenantId,
    edition: state.edition,
    status,
    licensed: status === 'active' || status === 'essentials',
    company_name: state.companyName ?? null,
    token_expires_at: state.tokenExpiresAt ?? null,
    registered_at: state.registeredAt,
    last_checkin_at: state.lastCheckinAt ?? null,
    next_checkin_at: state.nextCheckinAt ?? null,
    checkin_failures: state.checkinFailures,
    last_checkin_error: state.lastCheckinError ?? null,
  };
}

/** ALGA_LICENSE_CHECKIN_WAKE_SECONDS (60): how often the check-in schedule re-reads the license state. */
function checkinWakeMs(env: Readonly<Record<string, string | undefined>>): number {
  const text = env.ALGA_LICENSE_CHECKIN_WAKE_SECONDS;
  if (text === undefined || text === '') return 60_000;
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_LICENSE_CHECKIN_WAKE_SECONDS must be a positive number, got "${text}".`);
  return seconds * 1000;
}

function register(host: HostContext): void {
  const { routes, store, auth, config } = host;
  const setup = host.plugins.get<SetupApi>('setup');
  if (!setup) throw new AlgaError('E_INTERNAL', 'The appliance plugin needs the setup plugin.');
  if (config.env.ALGA_LICENSE_PUBLIC_KEYS) parsePinnedKeys(config.env.ALGA_LICENSE_PUBLIC_KEYS);
  applianceId(store);
  setup.addClaimStep(installCodeStep({ store, secrets: host.secrets, env: config.env }));

  const hours = Number(config.env.ALGA_LICENSE_CHECKIN_HOURS ?? 24);
  const checkins = startCheckinSchedule({
    store,
    encryptionKeys: host.secrets.encryptionKeys,
    intervalMs: (Number.isFinite(hours) && hours > 0 ? hours : 24) * 3_600_000,
    minBackoffMs: 60_000,
    wakeMs: checkinWakeMs(config.env),
    log: host.log,
  });
  host.lifecycle.onClose(() => checkins.stop());
  host.events.on('setup.claimed', () => {
    if (readLicenseState(store)?.credential) void checkins.runNow();
  });

  const requireSignedIn = async (request: Parameters<typeof auth.principalOf>[0]) => {
    if (!auth.principalOf(request)) throw new AlgaError('E_AUTH_REQUIRED');
  };

  routes.get('/api/license', { preHandler: requireSignedIn }, async () => ({ appliance_id: applianceId(store), ...licenseStatus(readLicenseState(store), setup.tenantId()) }));

  routes.post('/api/license/checkin', { onRequest: auth.requireScope('admin') }, async () => {
    const state = readLicenseState(store);
    if (!state?.credential) throw new AlgaError('E_REQUEST_INVALID', 'This appliance has no paid license to check in.');
    return { appliance_id: applianceId(store), ...licenseStatus(await checkins.runNow(), setup.tenantId()) };
  });
}

export default definePlugin({ name: 'appliance', version: '1.0.0', requires: ['setup'], register });
