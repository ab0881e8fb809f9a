import AjvModule, { type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { egressCovers, parseEgressEntry, type Manifest } from '../../../../lib/bundle/index.ts';
import type { LimitCeilings } from '../../../core/config.ts';
import type { InstallLimits } from './install-store.ts';

const Ajv = AjvModule.default ?? AjvModule;
const addFormats = (addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule;
const ajv = new Ajv({ allErrors: true, strict: false, useDefaults: true });
(addFormats as unknown as (instance: unknown) => void)(ajv);
const compiled = new Map<string, ValidateFunction>();

/** Config checked against the manifest's configSchema (defaults applied); `{}` when there is no schema. */
export function validateConfig(config: unknown, manifest: Manifest, contentHash: string): Record<string, unknown> {
  const value = structuredClone(config ?? {});
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new AlgaError('E_INSTALL_CONFIG_INVALID', 'Config must be a JSON object.');
  if (!manifest.configSchema) return value as Record<string, unknown>;
  const validate = compiled.get(contentHash) ?? ajv.compile(manifest.configSchema);
  compiled.set(contentHash, validate);
  if (!validate(value)) {
    const detail = (validate.errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message ?? 'is invalid'}${error.params && 'additionalProperty' in error.params ? ` ("${String(error.params.additionalProperty)}")` : ''}`).join('; ');
    throw new AlgaError('E_INSTALL_CONFIG_INVALID', detail);
  }
  return value as Record<string, unknown>;
}

/** Grants default to the manifest's capabilities and must be a subset of them. */
export function validateGrants(grants: unknown, manifest: Manifest): string[] {
  if (grants === undefined) return [...manifest.capabilities];
  if (!Array.isArray(grants) || grants.some((grant) => typeof grant !== 'string')) throw new AlgaError('E_INSTALL_GRANT_INVALID', 'Grants must be a list of capability names.');
  const outside = grants.filter((grant) => !(manifest.capabilities as string[]).includes(grant));
  if (outside.length > 0) throw new AlgaError('E_INSTALL_GRANT_INVALID', `${outside.join(', ')} (declared: ${manifest.capabilities.join(', ') || 'none'}).`);
  return [...new Set(grants as string[])];
}

/** Whether an egress entry is within a declared one (lib/bundle/egress.ts); false when either is not an entry. */
export function egressCoveredBy(entry: string, declared: string): boolean {
  const requested = parseEgressEntry(entry);
  const pattern = parseEgressEntry(declared);
  return requested !== undefined && pattern !== undefined && egressCovers(pattern, requested);
}

/**
 * Egress defaults to the manifest's entries; an install's own list must be valid entries
 * (lib/bundle/egress.ts), each within a declared one: `*.x.com` covers `a.x.com`, an entry
 * without a port covers that host on any port, `api.x.com:8443` covers only that port.
 */
export function validateEgress(egress: unknown, manifest: Manifest): string[] {
  const declared = manifest.egress ?? [];
  if (egress === undefined) return [...declared];
  if (!Array.isArray(egress) || egress.some((host) => typeof host !== 'string' || host === '')) throw new AlgaError('E_INSTALL_EGRESS_INVALID', 'Egress must be a list of host names.');
  const malformed = (egress as string[]).filter((entry) => parseEgressEntry(entry) === undefined);
  if (malformed.length > 0) {
    throw new AlgaError('E_INSTALL_EGRESS_INVALID', `${malformed.map((entry) => JSON.stringify(entry.slice(0, 100))).join(', ')} is not an egress entry (a host name, *.domain, IPv4 or [IPv6] address, each optionally with :port).`);
  }
  const declaredEntries = declared.flatMap((entry) => parseEgressEntry(entry) ?? []);
  const outside = (egress as string[]).filter((entry) => !declaredEntries.some((pattern) => egressCovers(pattern, parseEgressEntry(entry)!)));
  if (outside.length > 0) throw new AlgaError('E_INSTALL_EGRESS_INVALID', `${outside.join(', ')} (declared: ${declared.join(', ') || 'none'}).`);
  return [...new Set(egress as string[])];
}

const limitNames = ['memoryMb', 'timeoutMs', 'requestsPerMinute', 'maxConcurrency'] as const;

/** Requested limits must be positive whole numbers within the ceilings; unset ones come from the manifest, capped by the ceilings. */
export function validateLimits(requested: unknown, manifest: Manifest, ceilings: LimitCeilings): InstallLimits {
  if (requested !== undefined && (!requested || typeof requested !== 'object' || Array.isArray(requested))) throw new AlgaError('E_INSTALL_LIMITS_INVALID', 'Limits must be an object.');
  const input = (requested ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(input).filter((name) => !(limitNames as readonly string[]).includes(name));
  if (unknown.length > 0) throw new AlgaError('E_INSTALL_LIMITS_INVALID', `Unknown limit ${unknown.join(', ')}; known: ${limitNames.join(', ')}.`);
  const defaults: InstallLimits = {
    memoryMb: Math.min(manifest.limits?.memoryMb ?? ceilings.memoryMb, ceilings.memoryMb),
    timeoutMs: Math.min(manifest.limits?.timeoutMs ?? ceilings.timeoutMs, ceilings.timeoutMs),
    requestsPerMinute: ceilings.requestsPerMinute,
    maxConcurrency: ceilings.maxConcurrency,
  };
  const limits = { ...defaults };
  for (const name of limitNames) {
    const value = input[name];
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new AlgaError('E_INSTALL_LIMITS_INVALID', `${name} must be a positive whole number.`);
    if (value > ceilings[name]) throw new AlgaError('E_INSTALL_LIMITS_INVALID', `${name} ${value} is above the ceiling ${ceilings[name]}.`);
    limits[name] = value;
  }
  return limits;
}
