import type { Manifest } from '../../../../lib/bundle/index.ts';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { egressCoveredBy } from './validate.ts';

/** Permissions a version asks for, or an install holds: capabilities and egress hosts. */
export interface Permissions {
  capabilities: string[];
  egress: string[];
}

/** What moving an install to a version (or installing it) means for its permissions. */
export interface ConsentPlan {
  /** Everything the target version asks for. */
  asks: Permissions;
  /**
   * What the target asks for that nobody has decided on for this install yet: everything on a new
   * install; on a version change, what the current version did not ask for. An admin must see
   * these and send `grants`/`egress` before they are granted.
   */
  undecided: Permissions;
  /** What the install grants now and keeps when the request names no new lists (still asked for by the target). */
  kept: Permissions;
  /** What the install grants now that the target no longer asks for: dropped by the change. */
  dropped: Permissions;
}

export interface CurrentPermissions {
  /** The manifest of the version installed now: what was asked (and so decided) before. */
  manifest: Manifest;
  grants: readonly string[];
  egress: readonly string[];
}

const none = (): Permissions => ({ capabilities: [], egress: [] });

export function asksOf(manifest: Manifest): Permissions {
  return { capabilities: [...manifest.capabilities], egress: [...(manifest.egress ?? [])] };
}

/** A target egress entry counts as decided when the current version asked for it, or for an entry covering it. */
function egressDecided(entry: string, asked: readonly string[]): boolean {
  return asked.some((pattern) => egressCoveredBy(entry, pattern));
}

export function consentPlan(target: Manifest, current?: CurrentPermissions): ConsentPlan {
  const asks = asksOf(target);
  if (!current) return { asks, undecided: asks, kept: none(), dropped: none() };
  const askedBefore = asksOf(current.manifest);
  return {
    asks,
    undecided: {
      capabilities: asks.capabilities.filter((capability) => !askedBefore.capabilities.includes(capability)),
      egress: asks.egress.filter((entry) => !egressDecided(entry, askedBefore.egress)),
    },
    kept: {
      capabilities: current.grants.filter((grant) => asks.capabilities.includes(grant)),
      egress: current.egress.filter((host) => asks.egress.some((pattern) => egressCoveredBy(host, pattern))),
    },
    dropped: {
      capabilities: current.grants.filter((grant) => !asks.capabilities.includes(grant)),
      egress: current.egress.filter((host) => !asks.egress.some((pattern) => egressCoveredBy(host, pattern))),
    },
  };
}

/**
 * Refuses a change that would leave part of what the version asks for undecided: the request
 * must carry `grants` when a capability is undecided, and `egress` when an egress host is.
 */
export function requireConsent(plan: ConsentPlan, request: { grants?: unknown; egress?: unknown }, label: string): void {
  const capabilities = request.grants === undefined ? plan.undecided.capabilities : [];
  const egress = request.egress === undefined ? plan.undecided.egress : [];
  if (capabilities.length === 0 && egress.length === 0) return;
  const parts = [
    capabilities.length > 0 ? `capabilities ${capabilities.join(', ')} (send "grants")` : '',
    egress.length > 0 ? `egress to ${egress.join(', ')} (send "egress")` : '',
  ].filter(Boolean);
  throw new AlgaError('E_INSTALL_CONSENT_REQUIRED', `${label} asks for ${parts.join(' and ')}.`);
}
