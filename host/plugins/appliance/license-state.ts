import { randomBytes } from 'node:crypto';
import type { EncryptionKeys } from '../../core/secrets/encryption.ts';
import type { HostStore } from '../../core/store.ts';

/**
 * The appliance's identity and license state in the store. The appliance credential is kept
 * encrypted (alga-enc:v1 with key id), so key rotation reaches it.
 */

export interface LicenseState {
  tenantId: string;
  edition: string;
  companyName?: string;
  contactEmail?: string;
  /** Paid editions: the current license JWT (verified before it is stored). */
  token?: string;
  tokenExpiresAt?: string;
  /** Encrypted appliance credential. */
  credential?: string;
  /** Encrypted Ed25519 private key (PKCS#8 PEM) that signs check-ins; its public half is registered with the service. */
  signingKey?: string;
  checkInUrl?: string;
  /** The license service's JWKS as pinned at registration, plus keys the service rotated in since (each endorsed by a key already pinned). */
  jwks?: unknown;
  /** Where the service publishes its JWKS (to learn a rotated-in key). */
  jwksUrl?: string;
  registeredAt: string;
  lastCheckinAt?: string;
  lastCheckinError?: string;
  checkinFailures: number;
  nextCheckinAt?: string;
  revoked?: boolean;
}

const IDENTITY_DB = 'appliance.identity';
const LICENSE_DB = 'appliance.license';

export function applianceId(store: HostStore): string {
  const db = store.db<string, string>(IDENTITY_DB);
  const existing = db.get('id');
  if (existing) return existing;
  return store.transaction(() => {
    const again = db.get('id');
    if (again) return again;
    const id = `apl_${randomBytes(16).toString('base64url')}`;
    db.putSync('id', id);
    return id;
  });
}

export function readLicenseState(store: HostStore): LicenseState | undefined {
  return store.db<LicenseState, string>(LICENSE_DB).get('state');
}

/** Synchronous: safe inside the claim transaction. */
export function writeLicenseState(store: HostStore, state: LicenseState): void {
  store.db<LicenseState, string>(LICENSE_DB).putSync('state', state);
}

export type { EncryptionKeys };
