import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { isAlgaError } from '../../../lib/errors/index.ts';
import type { EncryptionKeys } from '../../core/secrets/encryption.ts';
import { decryptString, encryptValue } from '../../core/secrets/encryption.ts';
import type { HostStore } from '../../core/store.ts';
import { publicKeyText, signCheckin } from '../license/checkin-signature.ts';
import { withEndorsedKeys } from '../license/key-endorsement.ts';
import { fromJwks, verifyLicenseToken, type LicenseClaims } from '../license/license-token.ts';
import { checkIn, fetchPublishedJwks } from './license-service.ts';
import { applianceId, readLicenseState, writeLicenseState, type LicenseState } from './license-state.ts';

/**
 * Daily check-in for paid editions: signed with the appliance's own key (fresh time and nonce,
 * license/checkin-signature.ts), answered with a fresh license JWT that is verified against the
 * pinned keys before it replaces the old one. A JWT from a key the service rotated in is accepted
 * when a pinned key endorses that key (license/key-endorsement.ts). Failures back off
 * exponentially (1 min, 2, 4 … up to the interval); a revoked appliance stops checking in.
 */

export interface CheckinOptions {
  store: HostStore;
  encryptionKeys: EncryptionKeys;
  intervalMs: number;
  minBackoffMs: number;
  /** The schedule re-reads the license state at least this often (default: minBackoffMs). */
  wakeMs?: number;
  log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export function backoffMs(failures: number, options: Pick<CheckinOptions, 'intervalMs' | 'minBackoffMs'>): number {
  return Math.min(options.intervalMs, options.minBackoffMs * 2 ** Math.max(0, failures - 1));
}

/**
 * The key that signs check-ins. An appliance registered before check-ins were signed makes one
 * now and keeps it (written before it is first sent, so a lost answer cannot orphan it); the
 * service enrolls its public half with that first signed check-in.
 */
function checkinKey(state: LicenseState, options: CheckinOptions): { state: LicenseState; privateKey: KeyObject; enroll?: string } {
  if (state.signingKey) return { state, privateKey: createPrivateKey(decryptString(state.signingKey, options.encryptionKeys)) };
  const pair = generateKeyPairSync('ed25519');
  const withKey = { ...state, signingKey: encryptValue(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), options.encryptionKeys) };
  options.store.transaction(() => writeLicenseState(options.store, withKey));
  return { state: withKey, privateKey: pair.privateKey, enroll: publicKeyText(pair.publicKey) };
}

function keyIdOf(jwt: string): unknown {
  try {
    return (JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString('utf8')) as { kid?: unknown }).kid;
  } catch {
    return undefined;
  }
}

/** Verifies the JWT; a kid it does not know yet is looked up in the service's JWKS and taken only if endorsed. */
async function verifyWithRotation(jwt: string, state: LicenseState, audience: string): Promise<{ claims: LicenseClaims; jwks: unknown }> {
  const pinned = fromJwks(state.jwks);
  const kid = keyIdOf(jwt);
  if (typeof kid !== 'string' || Object.hasOwn(pinned, kid)) return { claims: verifyLicenseToken(jwt, pinned, { audience }), jwks: state.jwks };
  const published = await fetchPublishedJwks(state.jwksUrl ?? state.checkInUrl!.replace(/\/checkin$/, '/.well-known/jwks.json'));
  const { keys, added } = withEndorsedKeys(pinned, published);
  const claims = verifyLicenseToken(jwt, keys, { audience });
  const publishedKeys = ((published as { keys?: Array<{ kid?: unknown }> }).keys ?? []).filter((jwk) => added.includes(jwk.kid as string));
  return { claims, jwks: { keys: [...((state.jwks as { keys?: unknown[] })?.keys ?? []), ...publishedKeys] } };
}

/** One check-in now; returns the updated state (or undefined when there is nothing to check in). */
export async function checkInOnce(options: CheckinOptions): Promise<LicenseState | undefined> {
  let state = readLicenseState(options.store);
  if (!state?.credential || !state.checkInUrl || state.revoked) return state;
  const now = Date.now();
  let next: LicenseState;
  try {
    const id = applianceId(options.store);
    const key = checkinKey(state, options);
    state = key.state;
    const signed = { ...signCheckin(id, key.privateKey), ...(key.enroll ? { public_key: key.enroll } : {}) };
    const { jwt } = await checkIn(state.checkInUrl!, decryptString(state.credential!, options.encryptionKeys), signed);
    const { claims, jwks } = await verifyWithRotation(jwt, state, id);
    if (claims.sub !== state.tenantId) throw new Error('The license token names another tenant.');
    next = {
      ...state,
      jwks,
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

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs check-ins on schedule until stopped. The schedule wakes at least every `wakeMs` and
 * re-reads the license state (one store read), so state another process wrote — a headless
 * `alga-host setup` against the same data folder — is noticed without a restart: a check-in
 * runs when `nextCheckinAt` is due, or at once for a registration that appeared after start and
 * has never checked in (as after an in-process claim).
 */
export function startCheckinSchedule(options: CheckinOptions): { stop(): void; runNow(): Promise<LicenseState | undefined> } {
  const wakeMs = Math.min(options.wakeMs ?? options.minBackoffMs, MAX_TIMER_MS);
  const registeredAtStart = readLicenseState(options.store)?.registeredAt;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let running: Promise<LicenseState | undefined> | undefined;

  const dueAt = (state: LicenseState | undefined): number | undefined => {
    if (!state?.credential || !state.checkInUrl || state.revoked) return undefined;
    if (state.nextCheckinAt) return Date.parse(state.nextCheckinAt);
    if (state.registeredAt !== registeredAtStart) return Date.now();
    return Date.parse(state.lastCheckinAt ?? state.registeredAt) + options.intervalMs;
  };

  const arm = (delay: number) => {
    if (stopped) return;
    timer = setTimeout(wake, Number.isFinite(delay) ? Math.max(0, Math.min(delay, wakeMs)) : wakeMs);
    timer.unref();
  };

  const wake = () => {
    timer = undefined;
    if (stopped) return;
    const due = dueAt(readLicenseState(options.store));
    if (due !== undefined && due <= Date.now()) {
      runNow().catch((error: unknown) => options.log.warn({ err: error }, 'license check-in failed'));
    } else {
      arm(due === undefined ? wakeMs : due - Date.now());
    }
  };

  const runNow = () => {
    if (!running) {
      if (timer) clearTimeout(timer);
      timer = undefined;
      running = checkInOnce(options).finally(() => {
        running = undefined;
        if (stopped) return;
        // Still due after a run (nothing could be written): wait a whole wake rather than retry at once.
        const due = dueAt(readLicenseState(options.store));
        arm(due === undefined || due <= Date.now() ? wakeMs : due - Date.now());
      });
    }
    return running;
  };

  wake();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
    },
    runNow,
  };
}
