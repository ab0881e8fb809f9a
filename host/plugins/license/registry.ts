import { createHash, randomBytes } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { HostStore } from '../../core/store.ts';
import { hashInstallCode, mintInstallCode, normalizeInstallCode } from './install-codes.ts';

/**
 * The control plane's records: the tenant registry, install codes (by hash only) and registered
 * appliances (credential by hash). Install-code mail is ./mail-queue.ts. All changes that must
 * hold together run in one store transaction.
 */

export const EDITIONS = ['essentials', 'pro', 'enterprise'] as const;
export type Edition = (typeof EDITIONS)[number];
export const isPaid = (edition: string) => edition !== 'essentials';

export interface RegistryTenant {
  id: string;
  company: string;
  contactName: string;
  contactEmail: string;
  edition: Edition;
  createdAt: string;
}

export interface InstallCodeRecord {
  tenantId: string;
  edition: Edition;
  entitlement?: { edition: Edition; features: string[] };
  createdAt: string;
  expiresAt: string;
  status: 'unclaimed' | 'consumed' | 'revoked';
  consumedAt?: string;
  applianceId?: string;
  revokedAt?: string;
}

export interface ApplianceRecord {
  id: string;
  tenantId: string;
  edition: Edition;
  credentialHash?: string;
  /** Ed25519 public key (base64url) that signs its check-ins, registered at redemption (or enrolled at its first signed check-in). */
  publicKey?: string;
  registeredAt: string;
  lastCheckinAt?: string;
  revokedAt?: string;
}

export type RedeemFailure = 'invalid_claim_code' | 'expired_claim_code' | 'consumed_claim_code';

export class RedeemError extends Error {
  constructor(readonly reason: RedeemFailure) {
    super(reason);
  }
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;

export function hashCredential(credential: string): string {
  return sha256(`alga-appliance-credential:${credential}`);
}

const sameText = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase();

/** The registration fields (as the API names them) on which two registrations of one email disagree. */
function registrationDifferences(existing: RegistryTenant, input: Omit<RegistryTenant, 'id' | 'createdAt'>): string[] {
  const differing: string[] = [];
  if (!sameText(existing.company, input.company)) differing.push('company');
  if (!sameText(existing.contactName, input.contactName)) differing.push('contact_name');
  if (existing.edition !== input.edition) differing.push('edition');
  return differing;
}

export class LicenseRegistry {
  private readonly tenants;
  private readonly tenantByEmail;
  private readonly codes;
  private readonly appliances;
  private readonly applianceByCredential;
  private readonly checkinNonces;

  constructor(private readonly store: HostStore) {
    this.tenants = store.db<RegistryTenant, string>('license.tenants');
    this.tenantByEmail = store.db<string, string>('license.tenant-by-email');
    this.codes = store.db<InstallCodeRecord, string>('license.codes');
    this.appliances = store.db<ApplianceRecord, string>('license.appliances');
    this.applianceByCredential = store.db<string, string>('license.appliance-by-credential');
    this.checkinNonces = store.db<number, string>('license.checkin-nonces');
  }

  createTenant(input: Omit<RegistryTenant, 'id' | 'createdAt'>): RegistryTenant {
    const tenant: RegistryTenant = { id: newId('tnt'), ...input, contactEmail: input.contactEmail.toLowerCase(), createdAt: new Date().toISOString() };
    this.tenants.putSync(tenant.id, tenant);
    this.tenantByEmail.putSync(tenant.contactEmail, tenant.id);
    return tenant;
  }

  /**
   * The tenant for this contact email: a new one, or the one already registered with it when the
   * other details agree (a repeated registration); details that disagree are E_TENANT_EMAIL_TAKEN.
   * One email never gets a second tenant. Synchronous: run it in a store transaction.
   */
  registerTenant(input: Omit<RegistryTenant, 'id' | 'createdAt'>): { tenant: RegistryTenant; created: boolean } {
    const existing = this.findTenant({ contactEmail: input.contactEmail });
    if (!existing) return { tenant: this.createTenant(input), created: true };
    const differing = registrationDifferences(existing, input);
    if (differing.length > 0) {
      throw new AlgaError('E_TENANT_EMAIL_TAKEN', `Tenant ${existing.id} has a different ${differing.join(', ')}; use that tenant (POST /install-codes/reissue sends a new install code) or register with another contact email.`);
    }
    return { tenant: existing, created: false };
  }

  /** The expiry of the tenant's newest unclaimed, unexpired install code, if any. */
  unclaimedCodeExpiry(tenantId: string): string | undefined {
    let latest: string | undefined;
    for (const { value } of this.codes.getRange({})) {
      if (value.tenantId !== tenantId || value.status !== 'unclaimed' || Date.parse(value.expiresAt) <= Date.now()) continue;
      if (!latest || value.expiresAt > latest) latest = value.expiresAt;
    }
    return latest;
  }

  getTenant(id: string): RegistryTenant | undefined {
    return this.tenants.get(id);
  }

  findTenant(query: { tenantId?: string; contactEmail?: string }): RegistryTenant | undefined {
    if (query.tenantId) return this.tenants.get(query.tenantId);
    const id = query.contactEmail ? this.tenantByEmail.get(query.contactEmail.toLowerCase()) : undefined;
    return id ? this.tenants.get(id) : undefined;
  }

  /** Mints a code for the tenant; returns the code once (only its hash, `key`, is kept). Synchronous. */
  mintCode(tenant: RegistryTenant, ttlMs: number): { code: string; key: string; record: InstallCodeRecord } {
    const code = mintInstallCode();
    const now = Date.now();
    const record: InstallCodeRecord = {
      tenantId: tenant.id,
      edition: tenant.edition,
      ...(isPaid(tenant.edition) ? { entitlement: { edition: tenant.edition, features: ['extensions', 'support'] } } : {}),
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + ttlMs).toISOString(),
      status: 'unclaimed',
    };
    const key = hashInstallCode(normalizeInstallCode(code)!);
    this.codes.putSync(key, record);
    return { code, key, record };
  }

  /** Revokes one code (by its hash) if it is still unclaimed: a code whose mail was never delivered. Synchronous. */
  revokeCode(key: string | undefined): boolean {
    const record = key ? this.codes.get(key) : undefined;
    if (!key || !record || record.status !== 'unclaimed') return false;
    this.codes.putSync(key, { ...record, status: 'revoked', revokedAt: new Date().toISOString() });
    return true;
  }

  /** Revokes every unclaimed code of a tenant; returns how many. Synchronous. */
  revokeUnclaimedCodes(tenantId: string): number {
    let revoked = 0;
    for (const { key, value } of this.codes.getRange({})) {
      if (value.tenantId === tenantId && value.status === 'unclaimed') {
        this.codes.putSync(key, { ...value, status: 'revoked', revokedAt: new Date().toISOString() });
        revoked++;
      }
    }
    return revoked;
  }

  /**
   * Redeems a code for an appliance, atomically: the code is consumed and bound to the appliance
   * and the appliance registered, or nothing changes. Unknown and revoked codes both answer
   * invalid_claim_code. An appliance already registered to the same tenant (its claim failed
   * locally after an earlier redemption) is registered again with a fresh credential.
   */
  redeem(claimCode: unknown, applianceId: string, publicKey?: string): { tenant: RegistryTenant; code: InstallCodeRecord; credential?: string } {
    const normalized = normalizeInstallCode(claimCode);
    if (!normalized) throw new RedeemError('invalid_claim_code');
    const key = hashInstallCode(normalized);
    return this.store.transaction(() => {
      const record = this.codes.get(key);
      if (!record || record.status === 'revoked') throw new RedeemError('invalid_claim_code');
      if (record.status === 'consumed') throw new RedeemError('consumed_claim_code');
      if (Date.parse(record.expiresAt) <= Date.now()) throw new RedeemError('expired_claim_code');
      const tenant = this.tenants.get(record.tenantId);
      if (!tenant) throw new RedeemError('invalid_claim_code');
      const earlier = this.appliances.get(applianceId);
      if (earlier && (earlier.tenantId !== tenant.id || earlier.revokedAt)) {
        throw new AlgaError('E_LICENSE_REGISTER_INVALID', 'This appliance id is registered to another tenant or revoked; a reinstalled appliance gets a new id.');
      }
      if (earlier?.credentialHash) this.applianceByCredential.removeSync(earlier.credentialHash);
      const consumed: InstallCodeRecord = { ...record, status: 'consumed', consumedAt: new Date().toISOString(), applianceId };
      this.codes.putSync(key, consumed);
      const credential = isPaid(record.edition) ? `alga_a_${randomBytes(32).toString('base64url')}` : undefined;
      const appliance: ApplianceRecord = {
        id: applianceId,
        tenantId: tenant.id,
        edition: record.edition,
        ...(credential ? { credentialHash: hashCredential(credential) } : {}),
        ...(publicKey ? { publicKey } : {}),
        registeredAt: new Date().toISOString(),
      };
      this.appliances.putSync(applianceId, appliance);
      if (credential) this.applianceByCredential.putSync(appliance.credentialHash!, applianceId);
      return { tenant, code: consumed, credential };
    });
  }

  applianceByCredentialToken(credential: string): ApplianceRecord | undefined {
    if (typeof credential !== 'string' || !credential.startsWith('alga_a_') || credential.length > 200) return undefined;
    const id = this.applianceByCredential.get(hashCredential(credential));
    return id ? this.appliances.get(id) : undefined;
  }

  getAppliance(id: string): ApplianceRecord | undefined {
    return this.appliances.get(id);
  }

  listAppliances(tenantId?: string): ApplianceRecord[] {
    return [...this.appliances.getRange({})].map(({ value }) => value).filter((appliance) => !tenantId || appliance.tenantId === tenantId);
  }

  /**
   * Records a signed check-in: its nonce is used up (until `nonceExpiresAt`, after which the
   * timestamp check alone refuses it) and, for an appliance registered before check-ins were
   * signed, its key is enrolled. Throws 'replayed' when the nonce was used. One transaction.
   */
  acceptCheckin(id: string, nonce: string, nonceExpiresAt: number, enrollKey?: string): void {
    this.store.transaction(() => {
      const now = Date.now();
      for (const { key, value } of this.checkinNonces.getRange({ start: `${id}\n`, end: `${id}\n\uffff` })) {
        if (value <= now) this.checkinNonces.removeSync(key);
      }
      const nonceKey = `${id}\n${nonce}`;
      if (this.checkinNonces.get(nonceKey) !== undefined) throw new AlgaError('E_CHECKIN_REPLAYED');
      this.checkinNonces.putSync(nonceKey, nonceExpiresAt);
      const appliance = this.appliances.get(id);
      if (appliance) this.appliances.putSync(id, { ...appliance, ...(enrollKey && !appliance.publicKey ? { publicKey: enrollKey } : {}), lastCheckinAt: new Date(now).toISOString() });
    });
  }

  /** An unsigned check-in, from an appliance that has no key on record (registered before signed check-ins). */
  markCheckin(id: string): void {
    const appliance = this.appliances.get(id);
    if (appliance) this.appliances.putSync(id, { ...appliance, lastCheckinAt: new Date().toISOString() });
  }

  revokeAppliance(id: string): ApplianceRecord {
    return this.store.transaction(() => {
      const appliance = this.appliances.get(id);
      if (!appliance) throw new AlgaError('E_NOT_FOUND', `Appliance ${id}.`);
      const revoked = { ...appliance, revokedAt: appliance.revokedAt ?? new Date().toISOString() };
      this.appliances.putSync(id, revoked);
      return revoked;
    });
  }
}
