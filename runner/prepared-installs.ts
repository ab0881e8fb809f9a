import type { Manifest } from '../lib/bundle/index.ts';
import { AlgaError } from '../lib/errors/index.ts';
import type { SealedSecretEnvelope } from '../lib/sealed-secrets.ts';
import { omitsInstallFields, parseInstallFields, type ExecuteCall, type InstallFields } from './execute-request.ts';
import { effectiveLimits, type EffectiveLimits, type LimitsConfig } from './limits.ts';
import type { IsolationPolicy } from './pool/protocol.ts';

/** An install's sealed secrets (opened in order, a later value wins), and their values once the runner has opened them (only on a granted read). */
export interface InstallSecrets {
  readonly envelopes: readonly SealedSecretEnvelope[];
  opened?: Readonly<Record<string, string>>;
}

/** What the runner derives from a version's manifest and an install's fields. */
export interface ManifestTerms {
  limits: EffectiveLimits;
  /** The install's grants that the manifest declares (a grant counts only for a declared capability). */
  providers: ReadonlySet<string>;
}

/**
 * An install's fields as the runner uses them: checked once, config values as the strings the
 * guest sees, limits and grants settled against the manifest once per manifest.
 */
export class PreparedInstall {
  readonly config: [string, string][];
  readonly egress: readonly string[];
  readonly isolation?: IsolationPolicy;
  readonly uiProxyRouteBase?: string;
  readonly secrets?: InstallSecrets;
  private readonly grants: readonly string[];
  private terms?: { manifest: Manifest; terms: ManifestTerms };

  constructor(
    private readonly fields: InstallFields,
    private readonly operatorLimits: LimitsConfig,
  ) {
    this.config = Object.entries(fields.config ?? {}).map(([name, value]) => [name, typeof value === 'string' ? value : JSON.stringify(value)]);
    this.grants = [...(fields.providers ?? [])];
    this.egress = [...(fields.egress ?? [])];
    this.isolation = fields.isolation;
    this.uiProxyRouteBase = fields.ui_proxy?.route_base;
    const envelopes = [...(fields.secret_envelope ? [fields.secret_envelope] : []), ...(fields.secret_envelopes ?? [])];
    this.secrets = envelopes.length > 0 ? { envelopes } : undefined;
  }

  /** Limits and effective grants under `manifest` (kept for the manifest last asked about). */
  termsFor(manifest: Manifest): ManifestTerms {
    if (this.terms?.manifest !== manifest) {
      const declared = manifest.capabilities as string[];
      this.terms = {
        manifest,
        terms: {
          limits: effectiveLimits(this.operatorLimits, manifest, this.fields.limits),
          providers: new Set(this.grants.filter((capability) => declared.includes(capability))),
        },
      };
    }
    return this.terms.terms;
  }
}

/**
 * Prepared installs by `install_revision`, at most `capacity` of them (least recently used go
 * first) and one revision per install: a new revision replaces the one before it, and with it
 * any secrets opened for it. The key includes tenant, install and content hash, so a call can
 * only reach a revision prepared for its own install and version.
 */
export class PreparedInstalls {
  private readonly byKey = new Map<string, PreparedInstall>();
  private readonly keyByInstall = new Map<string, string>();

  constructor(
    private readonly operatorLimits: LimitsConfig,
    private readonly capacity: number,
  ) {}

  get size(): number {
    return this.byKey.size;
  }

  /**
   * The prepared install a call runs with. Without a revision, the request's fields prepared for
   * this call alone (the contract before revisions, unchanged). With one, the held preparation,
   * else the request's fields prepared and kept; a revision the runner does not hold and whose
   * fields the request leaves out is E_RUNNER_INSTALL_NOT_PREPARED (the caller sends them).
   */
  resolve(call: ExecuteCall, request: Record<string, unknown>): PreparedInstall {
    const revision = call.install_revision;
    if (revision === undefined) return new PreparedInstall(parseInstallFields(request), this.operatorLimits);
    const { tenant_id, install_id, content_hash } = call.context;
    const key = `${tenant_id}\u0000${install_id}\u0000${content_hash}\u0000${revision}`;
    const held = this.byKey.get(key);
    if (held) {
      this.byKey.delete(key); // most recently used last
      this.byKey.set(key, held);
      return held;
    }
    if (omitsInstallFields(request)) throw new AlgaError('E_RUNNER_INSTALL_NOT_PREPARED', `Install ${install_id}, revision ${revision}.`);
    const prepared = new PreparedInstall(parseInstallFields(request), this.operatorLimits);
    const installKey = `${tenant_id}\u0000${install_id}`;
    const replaced = this.keyByInstall.get(installKey);
    if (replaced !== undefined) this.byKey.delete(replaced);
    this.keyByInstall.set(installKey, key);
    this.byKey.set(key, prepared);
    while (this.byKey.size > this.capacity) {
      const oldest = this.byKey.keys().next().value!;
      this.byKey.delete(oldest);
      const [tenant, install] = oldest.split('\u0000', 2);
      if (this.keyByInstall.get(`${tenant}\u0000${install}`) === oldest) this.keyByInstall.delete(`${tenant}\u0000${install}`);
    }
    return prepared;
  }
}
