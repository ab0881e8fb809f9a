import type { SealedSecretEnvelope } from '../../../../lib/sealed-secrets.ts';
import type { ExtensionLimits } from '../../../core/config.ts';
import type { HostStore } from '../../../core/store.ts';

export type InstallLimits = ExtensionLimits;

export interface InstallRecord {
  id: string;
  tenantId: string;
  extensionId: string;
  version: string;
  contentHash: string;
  enabled: boolean;
  config: Record<string, unknown>;
  grants: string[];
  egress: string[];
  limits: InstallLimits;
  /** Sealed to the runner's public key; never returned to clients. */
  secretEnvelope?: SealedSecretEnvelope;
  secretNames: string[];
  createdAt: string;
  updatedAt: string;
}

/** An install as clients see it: no secret envelope. */
export type PublicInstall = Omit<InstallRecord, 'secretEnvelope'>;

export function publicInstall(record: InstallRecord): PublicInstall {
  const { secretEnvelope: _omit, ...rest } = record;
  return rest;
}

/** Installs keyed by [tenantId, extensionId]. */
export class InstallStore {
  private readonly db;

  constructor(private readonly store: HostStore) {
    this.db = store.db<InstallRecord, [string, string]>('ext.installs');
  }

  get(tenantId: string, extensionId: string): InstallRecord | undefined {
    return this.db.get([tenantId, extensionId]);
  }

  listForTenant(tenantId: string): InstallRecord[] {
    return [...this.db.getRange({ start: [tenantId], end: [tenantId, '\uffff'] })].map(({ value }) => value);
  }

  /** Every tenant's installs (the host asks its runner to prepare their versions). */
  listAll(): InstallRecord[] {
    return [...this.db.getRange({})].map(({ value }) => value);
  }

  /** Writes the install; `check` runs inside the transaction against the current record. */
  save(record: InstallRecord, check: (current: InstallRecord | undefined) => void): InstallRecord {
    return this.store.transaction(() => {
      check(this.db.get([record.tenantId, record.extensionId]));
      this.db.putSync([record.tenantId, record.extensionId], record);
      return record;
    });
  }

  remove(tenantId: string, extensionId: string): InstallRecord | undefined {
    return this.store.transaction(() => {
      const current = this.db.get([tenantId, extensionId]);
      if (current) this.db.removeSync([tenantId, extensionId]);
      return current;
    });
  }
}
