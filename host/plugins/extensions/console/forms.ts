import { AlgaError } from '../../../../lib/errors/index.ts';
import type { Manifest } from '../../../../lib/bundle/index.ts';
import { allValues, configFromForm, firstValue } from '../../../web/console/config-form.ts';

/** A posted console form (formbody: a string per field, an array when a name repeats). */
export type FormBody = Record<string, unknown>;

export function formOf(body: unknown): FormBody {
  return body && typeof body === 'object' && !Array.isArray(body) ? (body as FormBody) : {};
}

/**
 * The grants and egress a consent form accepts: exactly what was ticked (an unticked box sends
 * nothing, so a form with none ticked accepts nothing), plus single hosts typed under a wildcard.
 */
export function permissionsFromForm(form: FormBody): { grants: string[]; egress: string[]; egressHosts: string[] } {
  const egressHosts = firstValue(form.egressHosts)
    .split(/[\s,]+/)
    .map((host) => host.trim())
    .filter(Boolean);
  const grants = [...new Set(allValues(form.grants))];
  const ticked = allValues(form.egress);
  return { grants, egress: [...new Set([...ticked, ...egressHosts])], egressHosts };
}

export function configFromPostedForm(manifest: Manifest, form: FormBody): Record<string, unknown> {
  return configFromForm(manifest.configSchema, form);
}

/** Secret fields: `secret.NAME` (a new value; empty = unchanged), `remove` (names), and one new name + value. */
export function secretUpdatesFromForm(form: FormBody): Record<string, string | null> {
  const updates: Record<string, string | null> = {};
  for (const [field, value] of Object.entries(form)) {
    if (!field.startsWith('secret.')) continue;
    const text = firstValue(value);
    if (text !== '') updates[field.slice('secret.'.length)] = text;
  }
  for (const name of allValues(form.remove)) {
    if (updates[name] !== undefined) throw new AlgaError('E_INSTALL_SECRETS_INVALID', `"${name}" was both given a new value and ticked for removal; choose one.`);
    updates[name] = null;
  }
  const newName = firstValue(form.newSecretName).trim();
  const newValue = firstValue(form.newSecretValue);
  if (newName !== '' || newValue !== '') {
    if (newName === '') throw new AlgaError('E_INSTALL_SECRETS_INVALID', 'Give the new secret a name.');
    if (newValue === '') throw new AlgaError('E_INSTALL_SECRETS_INVALID', `Give the new secret "${newName.slice(0, 128)}" a value.`);
    updates[newName] = newValue;
  }
  return updates;
}

/** Install-time secrets: the declared ones that were filled in. */
export function secretsFromInstallForm(form: FormBody): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const [field, value] of Object.entries(form)) {
    if (!field.startsWith('secret.')) continue;
    const text = firstValue(value);
    if (text !== '') secrets[field.slice('secret.'.length)] = text;
  }
  return secrets;
}

const limitNames = ['memoryMb', 'timeoutMs', 'requestsPerMinute', 'maxConcurrency'] as const;

/** The limits as typed (shown again when they are refused). */
export function typedLimits(form: FormBody): Record<string, string> {
  return Object.fromEntries(limitNames.map((name) => [name, firstValue(form[name]).trim()]));
}

/** Limits as numbers; the install service then checks them against the operator's ceilings. */
export function limitsFromForm(form: FormBody): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [name, text] of Object.entries(typedLimits(form))) {
    if (text === '') continue;
    const value = Number(text);
    if (!Number.isInteger(value) || value <= 0) throw new AlgaError('E_INSTALL_LIMITS_INVALID', `${name} must be a positive whole number.`);
    limits[name] = value;
  }
  return limits;
}
