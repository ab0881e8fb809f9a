import { isAlgaError } from '../../../lib/errors/index.ts';
import type { EncryptionKeys } from '../../core/secrets/encryption.ts';
import { decryptString } from '../../core/secrets/encryption.ts';
import type { HostStore } from '../../core/store.ts';
import { fromJwks, verifyLicenseToken } from '../license/license-token.ts';
import { checkIn } from './license-service.ts';
import { applianceId, readLicenseState, writeLicenseState, type LicenseState } from './license-state.ts';

/**
 * Daily check-in for paid editions: a fresh license JWT, verified against the pinned keys before
 * it replaces the old one. Failures back off exponentially (1 min, 2, 4 … up to the interval);
 * a revoked appliance stops checking in.
 */

export interface CheckinOptions {
  store: HostStore;
  encryptionKeys: EncryptionKeys;
  intervalMs: number;
  minBackoffMs: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export function backoffMs(failures: number, options: Pick<CheckinOptions, 'intervalMs' | 'minBackoffMs'>): number {
  return Math.min(options.intervalMs, options.minBackoffMs * 2 ** Math.max(0, failures - 1));
}

/** One check-in now; returns the updated state (or undefined when there is nothing to check in). */
export async function checkInOnce(options: CheckinOptions): Promise<LicenseState | undefined> {
  const state = readLicenseState(options.store);
  if (!state?.credential || !state.checkInUrl || state.revoked) return state;
  const now = Date.now();
  let next: LicenseState;
  try {
    const { jwt } = await checkIn(state.checkInUrl, decryptString(state.credential, options.encryptionKeys));
    const claims = verifyLicenseToken(jwt, fromJwks(state.jwks), { audience: applianceId(options.store) });
    if (claims.sub !== state.tenantId) throw new Error('The license token names another tenant.');
    next = {
      ...state,
      token: jwt,
      tokenExpiresAt: new Date(claims.exp * 1000).toISOString(),
      lastCheckinAt: new Date(now).toISOString(),
      lastCheckinError: undefined,
      checkinFailures: 0,
      nextCheckinAt: new Date(now + options.intervalMs).toISOString(),
    };
    options.log.info({ tenantId: state.tenantId, tokenExpiresAt: next.tokenExpiresAt }, 'license check-in succeeded');
  } catch (error) {
    const revoked = isAlgaError(error, 'E_APPLIANCE_REVOKED');
    const failures = state.checkinFailures + 1;
    next = {
      ...state,
      revoked: revoked || undefined,
      lastCheckinError: isAlgaError(error) ? error.code : (error as Error).message,
      checkinFailures: failures,
      nextCheckinAt: revoked ? undefined : new Date(now + backoffMs(failures, options)).toISOString(),
    };
    options.log.warn({ tenantId: state.tenantId, code: next.lastCheckinError, failures }, 'license check-in failed');
  }
  options.store.transaction(() => writeLicenseState(options.store, next));
  return next;
}

/** Runs check-ins on schedule until stopped. */
export function startCheckinSchedule(options: CheckinOptions): { stop(): void; runNow(): Promise<LicenseState | undefined> } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<LicenseState | undefined> | undefined;

  const schedule = () => {
    if (stopped) return;
    const state = readLicenseState(options.store);
    if (!state?.credential || state.revoked) return;
    const due = state.nextCheckinAt ? Date.parse(state.nextCheckinAt) : Date.parse(state.lastCheckinAt ?? state.registeredAt) + options.intervalMs;
    const delay = Math.max(0, Math.min(due - Date.now(), 2 ** 31 - 1));
    timer = setTimeout(() => void runNow(), delay);
    timer.unref();
  };

  const runNow = () => {
    if (!running) {
      if (timer) clearTimeout(timer);
      running = checkInOnce(options).finally(() => {
        running = undefined;
        schedule();
      });
    }
    return running;
  };

  schedule();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
    runNow,
  };
}
