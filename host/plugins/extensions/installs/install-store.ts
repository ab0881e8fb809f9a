import type { SealedSecretEnvelope } from '../../../../lib/sealed-secrets.ts';
import type { ExtensionLimits } from '../../../core/config.ts';
import { DecodedReads } from '../../../core/decoded-reads.ts';
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
  /** All secrets in one envelope, as older hosts sealed them (see secrets.ts); never returned to clients. */
  secretEnvelope?: SealedSecretEnvelope;
  /** Each secret sealed on its own to the runner's public key, by name; never returned to clients. */
  secretEnvelopes?: Record<string, SealedSecretEnvelope>;
  secretNames: string[];
  createdAt: string;
  updatedAt: string;
}

/** An install as clients see it: no secret envelopes, only the secrets' names. */
export type PublicInstall = Omit<InstallRecord, 'secretEnvelope' | 'secretEnvelopes'>;

export function publicInstall(record: InstallRecord): PublicInstall {
  const { secretEnvelope: _omit, secretEnvelopes: _omitEach, ...rest } = record;
  return rest;
}

/** Installs keyed by [tenantId, extensionId]. */
export class InstallStore {
  private readonly db;
  private readonly shared;

  constructor(private readonly store: HostStore) {
    this.db = store.db<InstallRecord, [string, string]>('ext.installs');
    this.shared = new DecodedReads(this.db);
  }

  get(tenantId: string, extensionId: string): InstallRecord | undefined {
    return this.db.get([tenantId, extensionId]);
  }

  /**
   * The same record, frozen and shared between reads until it changes (the gateway reads the
   * install on every call; the same object back means the same install).
   */
  getShared(tenantId: string, extensionId: string): Readonly<InstallRecord> | undefined {
    return this.shared.get([tenantId, extensionId], `${tenantId}\u0000${extensionId}`);
  }

  listForTenant(tenantId: string): InstallRecord[] {
    return [...this.db.getRange({ start: [tenantId], end: [tenantId, '\uffff'] })].map(({ value }) => value);
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
