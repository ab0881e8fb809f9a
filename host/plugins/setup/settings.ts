import { AlgaError } from '../../../lib/errors/index.ts';

/** Setup plugin settings, from the host's environment. */
export interface SetupSettings {
  /** Minutes a minted setup token stays valid; undefined = until used. */
  tokenTtlMinutes?: number;
  /** Networks allowed to reach /setup: 'any', or a list of 'loopback' and 'lan'. */
  allow: 'any' | Array<'loopback' | 'lan'>;
  /** Requests per client per minute, all /setup routes together. */
  requestsPerMinute: number;
  /** Wrong setup tokens (all clients together) within `lockoutMinutes` that lock remote claims for `lockoutMinutes`. */
  lockoutAttempts: number;
  lockoutMinutes: number;
  /** A device (e.g. /dev/tty1) the claim banner is also written to. */
  consoleDevice?: string;
}

function positiveNumber(value: string | undefined, name: string, whole: boolean): number | undefined {
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || (whole && !Number.isInteger(number))) {
    throw new AlgaError('E_HOST_CONFIG_INVALID', `${name} must be a positive ${whole ? 'whole ' : ''}number, got "${value}".`);
  }
  return number;
}

export function readSetupSettings(env: Readonly<Record<string, string | undefined>>): SetupSettings {
  const allowText = (env.ALGA_SETUP_ALLOW ?? 'any').trim();
  let allow: SetupSettings['allow'] = 'any';
  if (allowText !== 'any') {
    const parts = allowText.split(',').map((part) => part.trim()).filter(Boolean);
    for (const part of parts) {
      if (part !== 'loopback' && part !== 'lan') throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_SETUP_ALLOW takes "any" or a list of "loopback" and "lan", got "${part}".`);
    }
    allow = parts as Array<'loopback' | 'lan'>;
  }
  return {
    tokenTtlMinutes: positiveNumber(env.ALGA_SETUP_TOKEN_TTL_MINUTES, 'ALGA_SETUP_TOKEN_TTL_MINUTES', false),
    allow,
    requestsPerMinute: positiveNumber(env.ALGA_SETUP_RATE_LIMIT, 'ALGA_SETUP_RATE_LIMIT', true) ?? 20,
    lockoutAttempts: positiveNumber(env.ALGA_SETUP_LOCKOUT_ATTEMPTS, 'ALGA_SETUP_LOCKOUT_ATTEMPTS', true) ?? 20,
    lockoutMinutes: positiveNumber(env.ALGA_SETUP_LOCKOUT_MINUTES, 'ALGA_SETUP_LOCKOUT_MINUTES', false) ?? 15,
    consoleDevice: env.ALGA_SETUP_CONSOLE || undefined,
  };
}
