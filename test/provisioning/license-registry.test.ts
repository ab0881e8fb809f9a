import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { normalizeInstallCode } from '../../host/plugins/license/install-codes.ts';
import { LicenseRegistry, RedeemError } from '../../host/plugins/license/registry.ts';

let dir: string;
let store: HostStore;
let registry: LicenseRegistry;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alga-registry-'));
  store = openStore(dir);
  registry = new LicenseRegistry(store);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const tenantInput = { company: 'Acme', contactName: 'Ann', contactEmail: 'Ann@Acme.test', edition: 'pro' as const };
function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof RedeemError) return error.reason;
    throw error;
  }
  return 'redeemed';
}

describe('install codes', () => {
  it('carry at least 128 bits and are stored only as a hash', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const { code } = store.transaction(() => registry.mintCode(tenant, 60_000));
    expect(normalizeInstallCode(code)).toHaveLength(32); // 32 × 5 bits = 160 bits
    const stored = JSON.stringify([...store.db('license.codes').getRange({})]);
    expect(stored).not.toContain(normalizeInstallCode(code)!);
    expect(stored).not.toContain(code);
  });

  it('redeem once, bound to the appliance; then consumed', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const { code } = store.transaction(() => registry.mintCode(tenant, 60_000));
    const redeemed = registry.redeem(code, 'appliance-0001');
    expect(redeemed.tenant.id).toBe(tenant.id);
    expect(redeemed.code).toMatchObject({ status: 'consumed', applianceId: 'appliance-0001' });
    expect(redeemed.credential).toMatch(/^alga_a_/);
    expect(reason(() => registry.redeem(code, 'appliance-0002'))).toBe('consumed_claim_code');
    expect(reason(() => registry.redeem(code, 'appliance-0001'))).toBe('consumed_claim_code');
  });

  it('expired codes answer expired_claim_code and change nothing', async () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const { code } = store.transaction(() => registry.mintCode(tenant, 1));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(reason(() => registry.redeem(code, 'appliance-0001'))).toBe('expired_claim_code');
    expect(registry.getAppliance('appliance-0001')).toBeUndefined();
  });

  it('unknown, malformed and revoked codes look the same', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const { code } = store.transaction(() => registry.mintCode(tenant, 60_000));
    expect(store.transaction(() => registry.revokeUnclaimedCodes(tenant.id))).toBe(1);
    expect(reason(() => registry.redeem(code, 'appliance-0001'))).toBe('invalid_claim_code');
    expect(reason(() => registry.redeem('ALGA-00000-00000-00000-00000-00000-00000-0000', 'appliance-0001'))).toBe('invalid_claim_code');
    expect(reason(() => registry.redeem('hello', 'appliance-0001'))).toBe('invalid_claim_code');
    expect(reason(() => registry.redeem(42, 'appliance-0001'))).toBe('invalid_claim_code');
  });

  it('forgive case, spaces, dashes and look-alike letters', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const { code } = store.transaction(() => registry.mintCode(tenant, 60_000));
    const typed = ` ${code.toLowerCase().replaceAll('-', ' ').replaceAll('0', 'o').replaceAll('1', 'l')} `;
    expect(registry.redeem(typed, 'appliance-0001').tenant.id).toBe(tenant.id);
  });

  it('re-issue revokes only unclaimed codes of that tenant; the tenant is found by email in any case', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const other = store.transaction(() => registry.createTenant({ ...tenantInput, contactEmail: 'bob@other.test' }));
    const used = store.transaction(() => registry.mintCode(tenant, 60_000)).code;
    registry.redeem(used, 'appliance-0001');
    store.transaction(() => registry.mintCode(tenant, 60_000));
    const othersCode = store.transaction(() => registry.mintCode(other, 60_000)).code;
    expect(registry.findTenant({ contactEmail: 'ann@acme.TEST' })?.id).toBe(tenant.id);
    expect(store.transaction(() => registry.revokeUnclaimedCodes(tenant.id))).toBe(1);
    expect(registry.redeem(othersCode, 'appliance-0002').tenant.id).toBe(other.id);
  });
});

describe('appliances', () => {
  it('an appliance whose claim failed after redeeming registers again with a re-issued code; its old credential stops working', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const first = registry.redeem(store.transaction(() => registry.mintCode(tenant, 60_000)).code, 'appliance-0001');
    const again = registry.redeem(store.transaction(() => registry.mintCode(tenant, 60_000)).code, 'appliance-0001');
    expect(again.tenant.id).toBe(tenant.id);
    expect(registry.applianceByCredentialToken(again.credential!)?.id).toBe('appliance-0001');
    expect(registry.applianceByCredentialToken(first.credential!)).toBeUndefined();
  });

  it('an appliance id registered to another tenant, or revoked, is refused and the code stays unused', () => {
    const tenant = store.transaction(() => registry.createTenant(tenantInput));
    const other = store.transaction(() => registry.createTenant({ ...tenantInput, contactEmail: 'bob@other.test' }));
    registry.redeem(store.transaction(() => registry.mintCode(tenant, 60_000)).code, 'appliance-0001');
    const othersCode = store.transaction(() => registry.mintCode(other, 60_000)).code;
    expect(() => registry.redeem(othersCode, 'appliance-0001')).toThrow(expect.objectContaining({ code: 'E_LICENSE_REGISTER_INVALID' }));
    expect(registry.redeem(othersCode, 'appliance-0002').tenant.id).toBe(other.id);

    registry.revokeAppliance('appliance-0001');
    const fresh = store.transaction(() => registry.mintCode(tenant, 60_000)).code;
    expect(() => registry.redeem(fresh, 'appliance-0001')).toThrow(expect.objectContaining({ code: 'E_LICENSE_REGISTER_INVALID' }));
    expect(registry.redeem(fresh, 'appliance-0003').tenant.id).toBe(tenant.id);
  });
});
