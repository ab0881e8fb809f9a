import { AlgaError } from '../../../../lib/errors/index.ts';
import { sealSecrets, type SealedSecretEnvelope } from '../../../../lib/sealed-secrets.ts';
import type { InstallRecord } from './install-store.ts';

/**
 * Install secrets are write-only: the host seals each value to the runner's public key and can
 * never read it back. Each secret is sealed on its own (`secretEnvelopes`, by name), so one can be
 * set or removed without the others being typed again. `secretEnvelope` is the one envelope of
 * all secrets that an older host sealed; it stays until the secrets are replaced with `secrets`.
 */
export type InstallSecrets = Pick<InstallRecord, 'secretEnvelope' | 'secretEnvelopes' | 'secretNames'>;

const secretName = /^[A-Za-z0-9_.-]{1,128}$/;
const maxSecrets = 64;

function checkName(name: string): void {
  if (!secretName.test(name)) throw new AlgaError('E_INSTALL_SECRETS_INVALID', `"${name.slice(0, 128)}" is not a secret name (1-128 letters, digits, "_", "." or "-").`);
}

/** Secrets are a flat object of string values. */
export function validateSecrets(secrets: unknown): Record<string, string> {
  if (!secrets || typeof secrets !== 'object' || Array.isArray(secrets)) throw new AlgaError('E_INSTALL_SECRETS_INVALID');
  for (const [name, value] of Object.entries(secrets)) {
    if (typeof value !== 'string') throw new AlgaError('E_INSTALL_SECRETS_INVALID', `Check "${name.slice(0, 128)}".`);
    checkName(name);
  }
  if (Object.keys(secrets).length > maxSecrets) throw new AlgaError('E_INSTALL_SECRETS_INVALID', `At most ${maxSecrets} secrets.`);
  return secrets as Record<string, string>;
}

/** `secretUpdates`: name → new value, or null to remove that secret. */
function validateUpdates(updates: unknown): Record<string, string | null> {
  if (!updates || typeof updates !== 'object' || Array.isArray(updates)) throw new AlgaError('E_INSTALL_SECRETS_INVALID', 'secretUpdates must map names to a string (set) or null (remove).');
  for (const [name, value] of Object.entries(updates)) {
    if (value !== null && typeof value !== 'string') throw new AlgaError('E_INSTALL_SECRETS_INVALID', `Check "${name.slice(0, 128)}": a string sets it, null removes it.`);
    checkName(name);
  }
  return updates as Record<string, string | null>;
}

const sealOne = (name: string, value: string, publicKey: string): SealedSecretEnvelope => sealSecrets({ [name]: value }, publicKey);

/** The install's sealed secrets after a change: `secrets` replaces all of them, `secretUpdates` changes single ones. */
export function sealedSecretsAfter(current: InstallSecrets | undefined, input: { secrets?: unknown; secretUpdates?: unknown }, runnerPublicKey: string): InstallSecrets {
  if (input.secrets !== undefined && input.secretUpdates !== undefined) throw new AlgaError('E_INSTALL_SECRETS_INVALID', 'Send either secrets (replaces all) or secretUpdates (changes some), not both.');
  if (input.secrets !== undefined) {
    const values = validateSecrets(input.secrets);
    const envelopes = Object.fromEntries(Object.entries(values).map(([name, value]) => [name, sealOne(name, value, runnerPublicKey)]));
    return withNames(envelopes);
  }
  const legacy = current?.secretEnvelope;
  if (input.secretUpdates === undefined) return { ...(legacy ? { secretEnvelope: legacy } : {}), ...withNames(current?.secretEnvelopes ?? {}), secretNames: current?.secretNames ?? [] };
  if (legacy) {
    throw new AlgaError('E_INSTALL_SECRETS_INVALID', 'These secrets were sealed together by an older host and cannot be changed one at a time; send all of them once with "secrets".');
  }
  const envelopes = { ...current?.secretEnvelopes };
  for (const [name, value] of Object.entries(validateUpdates(input.secretUpdates))) {
    if (value === null) delete envelopes[name];
    else envelopes[name] = sealOne(name, value, runnerPublicKey);
  }
  if (Object.keys(envelopes).length > maxSecrets) throw new AlgaError('E_INSTALL_SECRETS_INVALID', `At most ${maxSecrets} secrets.`);
  return withNames(envelopes);
}

function withNames(envelopes: Record<string, SealedSecretEnvelope>): InstallSecrets {
  return { ...(Object.keys(envelopes).length > 0 ? { secretEnvelopes: envelopes } : {}), secretNames: Object.keys(envelopes).sort() };
}

/** The envelopes the runner opens, in order (a later one's value wins): the old shared one first. */
export function envelopesOf(install: InstallSecrets): SealedSecretEnvelope[] {
  return [...(install.secretEnvelope ? [install.secretEnvelope] : []), ...Object.values(install.secretEnvelopes ?? {})];
}
