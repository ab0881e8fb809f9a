import { randomBytes } from 'node:crypto';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { sealSecrets } from '../../../../lib/sealed-secrets.ts';
import type { TrustBundle } from '../../../../lib/signing/index.ts';
import type { LimitCeilings } from '../../../core/config.ts';
import type { RegistryStore, VersionRecord } from '../registry/registry-store.ts';
import type { BundleVerifier } from '../verify/bundle-verifier.ts';
import type { InstallRecord, InstallStore } from './install-store.ts';
import { validateConfig, validateEgress, validateGrants, validateLimits, validateSecrets } from './validate.ts';

export interface InstallInput {
  version?: string;
  config?: unknown;
  grants?: unknown;
  egress?: unknown;
  limits?: unknown;
  /** Replaces every secret when given; kept as they are when omitted. */
  secrets?: unknown;
  enabled?: boolean;
}

export interface InstallServiceOptions {
  installs: InstallStore;
  registry: RegistryStore;
  blobDir: string;
  trust: () => TrustBundle;
  ceilings: LimitCeilings;
  runnerPublicKey: string;
  /** Verifies the stored blob off the event loop. */
  verifier: BundleVerifier;
}

/** Creates, changes and removes installs; every saved install is valid against its version's manifest. */
export class InstallService {
  constructor(private readonly options: InstallServiceOptions) {}

  /** The version to install, verified again from the stored blob (hash, signature, trust). */
  private async resolveVersion(extensionId: string, version: string | undefined): Promise<VersionRecord> {
    const { registry, blobDir } = this.options;
    const extension = registry.getExtension(extensionId);
    if (!extension) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Extension "${extensionId}".`);
    const wanted = version ?? extension.latestVersion;
    const record = registry.getVersion(extensionId, wanted);
    if (!record) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${extensionId}@${wanted}.`);
    await this.options.verifier.verifyStored(blobDir, record.contentHash, this.options.trust());
    return record;
  }

  private async build(tenantId: string, extensionId: string, input: InstallInput, current: InstallRecord | undefined): Promise<InstallRecord> {
    if (input.version !== undefined && typeof input.version !== 'string') throw new AlgaError('E_REQUEST_INVALID', 'version must be a string.');
    const versionChanged = !current || (input.version !== undefined && input.version !== current.version);
    const version = versionChanged ? await this.resolveVersion(extensionId, input.version ?? current?.version) : this.options.registry.getVersion(extensionId, current.version);
    if (!version) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${extensionId}@${current?.version}.`);
    const { manifest, contentHash } = version;
    // On a version change, everything is re-checked against the new manifest.
    const config = validateConfig(input.config ?? current?.config, manifest, contentHash);
    const grants = validateGrants(input.grants ?? current?.grants, manifest);
    const egress = validateEgress(input.egress ?? current?.egress, manifest);
    const limits = validateLimits(input.limits ?? current?.limits, manifest, this.options.ceilings);
    let secretEnvelope = current?.secretEnvelope;
    let secretNames = current?.secretNames ?? [];
    if (input.secrets !== undefined) {
      const secrets = validateSecrets(input.secrets);
      secretNames = Object.keys(secrets).sort();
      secretEnvelope = secretNames.length > 0 ? sealSecrets(secrets, this.options.runnerPublicKey) : undefined;
    }
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
      ...(secretEnvelope ? { secretEnvelope } : {}),
      secretNames,
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
