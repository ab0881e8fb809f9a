import { randomBytes } from 'node:crypto';
import { AlgaError } from '../../../../lib/errors/index.ts';
import type { BundleBlobs } from '../../../../lib/bundle/index.ts';
import type { TrustBundle } from '../../../../lib/signing/index.ts';
import type { LimitCeilings } from '../../../core/config.ts';
import type { RegistryStore, VersionRecord } from '../registry/registry-store.ts';
import { consentPlan, requireConsent, type ConsentPlan } from './consent.ts';
import type { InstallRecord, InstallStore } from './install-store.ts';
import { sealedSecretsAfter } from './secrets.ts';
import { validateConfig, validateEgress, validateGrants, validateLimits } from './validate.ts';

export interface InstallInput {
  version?: string;
  config?: unknown;
  grants?: unknown;
  egress?: unknown;
  limits?: unknown;
  /** Replaces every secret when given; kept as they are when omitted. */
  secrets?: unknown;
  /** Sets (a string) or removes (null) single secrets; the others are kept. */
  secretUpdates?: unknown;
  enabled?: boolean;
}

export interface InstallServiceOptions {
  installs: InstallStore;
  registry: RegistryStore;
  blobs: BundleBlobs;
  trust: () => TrustBundle;
  ceilings: LimitCeilings;
  runnerPublicKey: string;
  /** Verifies a stored blob again, off the event loop (verify/bundle-verifier.ts). */
  verifyStored(bytes: Buffer, signatureFile: unknown, trust: TrustBundle, expectedHash: string): Promise<void>;
}

/** Creates, changes and removes installs; every saved install is valid against its version's manifest. */
export class InstallService {
  constructor(private readonly options: InstallServiceOptions) {}

  /** The version to install, verified again from the stored blob (hash, signature, trust). */
  private async resolveVersion(extensionId: string, version: string | undefined): Promise<VersionRecord> {
    const { registry, blobs } = this.options;
    const extension = registry.getExtension(extensionId);
    if (!extension) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Extension "${extensionId}".`);
    const wanted = version ?? extension.latestVersion;
    const record = registry.getVersion(extensionId, wanted);
    if (!record) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${extensionId}@${wanted}.`);
    const bytes = blobs.read(record.contentHash);
    if (!bytes) throw new AlgaError('E_REGISTRY_NOT_FOUND', `The blob of ${extensionId}@${wanted} is missing from the bundle store.`);
    await this.options.verifyStored(Buffer.from(bytes), blobs.readSignatureFile(record.contentHash), this.options.trust(), record.contentHash);
    return record;
  }

  /** The version an install would move to (`version`, else the latest), and what that means for its permissions. */
  consentFor(tenantId: string, extensionId: string, version?: string): { version: VersionRecord; current?: InstallRecord; plan: ConsentPlan } {
    const { registry, installs } = this.options;
    const extension = registry.getExtension(extensionId);
    if (!extension) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Extension "${extensionId}".`);
    const target = registry.getVersion(extensionId, version ?? extension.latestVersion);
    if (!target) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${extensionId}@${version}.`);
    const current = installs.get(tenantId, extensionId);
    return { version: target, current, plan: this.planFor(target, current) };
  }

  private planFor(target: VersionRecord, current: InstallRecord | undefined): ConsentPlan {
    if (!current) return consentPlan(target.manifest);
    const installed = this.options.registry.getVersion(current.extensionId, current.version);
    if (!installed) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${current.extensionId}@${current.version}.`);
    return consentPlan(target.manifest, { manifest: installed.manifest, grants: current.grants, egress: current.egress });
  }

  private async build(tenantId: string, extensionId: string, input: InstallInput, current: InstallRecord | undefined): Promise<InstallRecord> {
    if (input.version !== undefined && typeof input.version !== 'string') throw new AlgaError('E_REQUEST_INVALID', 'version must be a string.');
    const versionChanged = !current || (input.version !== undefined && input.version !== current.version);
    const version = versionChanged ? await this.resolveVersion(extensionId, input.version ?? current?.version) : this.options.registry.getVersion(extensionId, current.version);
    if (!version) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${extensionId}@${current?.version}.`);
    const { manifest, contentHash } = version;
    let grants: string[];
    let egress: string[];
    if (versionChanged) {
      // Nothing the version asks for is granted unless the request says so (see consent.ts);
      // what was granted before and is still asked for is kept, what is no longer asked for is dropped.
      const plan = this.planFor(version, current);
      requireConsent(plan, input, `${extensionId}@${version.version}`);
      grants = input.grants !== undefined ? validateGrants(input.grants, manifest) : plan.kept.capabilities;
      egress = input.egress !== undefined ? validateEgress(input.egress, manifest) : plan.kept.egress;
    } else {
      grants = validateGrants(input.grants ?? current?.grants, manifest);
      egress = validateEgress(input.egress ?? current?.egress, manifest);
    }
    // On a version change, everything else is re-checked against the new manifest too.
    const config = validateConfig(input.config ?? current?.config, manifest, contentHash);
    const limits = validateLimits(input.limits ?? current?.limits, manifest, this.options.ceilings);
    const secrets = sealedSecretsAfter(current, { secrets: input.secrets, secretUpdates: input.secretUpdates }, this.options.runnerPublicKey);
    if (input.enabled !== undefined && typeof input.enabled !== 'boolean') throw new AlgaError('E_REQUEST_INVALID', 'enabled must be true or false.');
    const now = new Date().toISOString();
    return {
      id: current?.id ?? `ins_${randomBytes(9).toString('base64url')}`,
      tenantId,
      extensionId,
      version: version.version,
      contentHash,
      enabled: input.enabled ?? current?.enabled ?? true,
      config,
      grants,
      egress,
      limits,
      ...secrets,
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    };
  }

  async create(tenantId: string, extensionId: string, input: InstallInput): Promise<InstallRecord> {
    if (typeof extensionId !== 'string' || extensionId === '') throw new AlgaError('E_REQUEST_INVALID', 'extensionId is required.');
    if (this.options.installs.get(tenantId, extensionId)) throw new AlgaError('E_INSTALL_EXISTS', `${extensionId}.`);
    const record = await this.build(tenantId, extensionId, input, undefined);
    return this.options.installs.save(record, (current) => {
      if (current) throw new AlgaError('E_INSTALL_EXISTS', `${extensionId}.`);
    });
  }

  async update(tenantId: string, extensionId: string, input: InstallInput): Promise<InstallRecord> {
    const current = this.options.installs.get(tenantId, extensionId);
    if (!current) throw new AlgaError('E_INSTALL_NOT_FOUND', `${extensionId}.`);
    const record = await this.build(tenantId, extensionId, input, current);
    return this.options.installs.save(record, (latest) => {
      if (!latest || latest.updatedAt !== current.updatedAt) throw new AlgaError('E_INSTALL_CHANGED');
    });
  }

  remove(tenantId: string, extensionId: string): InstallRecord {
    const removed = this.options.installs.remove(tenantId, extensionId);
    if (!removed) throw new AlgaError('E_INSTALL_NOT_FOUND', `${extensionId}.`);
    return removed;
  }
}
