import { readFileSync } from 'node:fs';
import { AlgaError } from '../../../lib/errors/index.ts';
import { readPrivateFile } from '../../core/secrets/files.ts';

/**
 * How install-code mail leaves the control plane. With ALGA_SMTP_HOST set it is sent through
 * that SMTP server (STARTTLS by default), retried with backoff, and dead-lettered after
 * ALGA_MAIL_MAX_ATTEMPTS; without it (an air-gapped control plane) each mail waits in the
 * outbox until an operator releases it.
 */

export type SmtpSecurity = 'starttls' | 'tls' | 'none';

export interface SmtpSettings {
  host: string;
  port: number;
  security: SmtpSecurity;
  from: string;
  auth?: { user: string; pass: string };
  /** Extra trusted CA certificates (PEM), for a server with a private CA. */
  ca?: string;
  timeoutMs: number;
}

export interface MailSettings {
  smtp?: SmtpSettings;
  maxAttempts: number;
  /** The first retry waits this long; each later one twice as long, up to `maxRetryDelayMs`. */
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

function number(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number, whole: boolean): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || (whole && !Number.isInteger(value))) {
    throw new AlgaError('E_HOST_CONFIG_INVALID', `${name} must be a positive ${whole ? 'whole ' : ''}number, got "${text}".`);
  }
  return value;
}

export function readMailSettings(env: Readonly<Record<string, string | undefined>>): MailSettings {
  const settings: MailSettings = {
    maxAttempts: number(env, 'ALGA_MAIL_MAX_ATTEMPTS', 8, true),
    retryDelayMs: number(env, 'ALGA_MAIL_RETRY_SECONDS', 60, false) * 1000,
    maxRetryDelayMs: 3_600_000,
  };
  const host = env.ALGA_SMTP_HOST?.trim();
  if (!host) return settings;
  const security = (env.ALGA_SMTP_SECURITY?.trim() || 'starttls') as SmtpSecurity;
  if (!['starttls', 'tls', 'none'].includes(security)) throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_SMTP_SECURITY is starttls, tls or none, got "${security}".`);
  const from = env.ALGA_SMTP_FROM?.trim();
  if (!from || !/^[^\s@<>]+@[^\s@<>]+$|<[^\s@<>]+@[^\s@<>]+>$/.test(from)) {
    throw new AlgaError('E_HOST_CONFIG_INVALID', 'ALGA_SMTP_FROM must be the sender address (licensing@example.com, or "Name <licensing@example.com>") when ALGA_SMTP_HOST is set.');
  }
  const port = number(env, 'ALGA_SMTP_PORT', security === 'tls' ? 465 : 587, true);
  if (port > 65535) throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_SMTP_PORT must be at most 65535, got ${port}.`);
  const user = env.ALGA_SMTP_USER?.trim();
  const passwordFile = env.ALGA_SMTP_PASSWORD_FILE?.trim();
  if (Boolean(user) !== Boolean(passwordFile)) throw new AlgaError('E_HOST_CONFIG_INVALID', 'Give both ALGA_SMTP_USER and ALGA_SMTP_PASSWORD_FILE, or neither.');
  let auth: SmtpSettings['auth'];
  if (user && passwordFile) {
    const pass = readPrivateFile(passwordFile, 'SMTP password file')?.replace(/\r?\n$/, '');
    if (!pass) throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_SMTP_PASSWORD_FILE (${passwordFile}) does not exist or is empty.`);
    auth = { user, pass };
  }
  let ca: string | undefined;
  if (env.ALGA_SMTP_CA_FILE) {
    try {
      ca = readFileSync(env.ALGA_SMTP_CA_FILE, 'utf8');
    } catch (error) {
      throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_SMTP_CA_FILE (${env.ALGA_SMTP_CA_FILE}) cannot be read (${(error as NodeJS.ErrnoException).code}).`);
    }
  }
  return { ...settings, smtp: { host, port, security, from, auth, ca, timeoutMs: number(env, 'ALGA_SMTP_TIMEOUT_SECONDS', 30, false) * 1000 } };
}

/** The wait before retry number `attempt + 1` after `attempt` failed attempts. */
export function retryDelayMs(attempt: number, settings: Pick<MailSettings, 'retryDelayMs' | 'maxRetryDelayMs'>): number {
  return Math.min(settings.maxRetryDelayMs, settings.retryDelayMs * 2 ** Math.max(0, attempt - 1));
}
