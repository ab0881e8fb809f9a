import { AlgaError } from '../../../lib/errors/index.ts';

export interface LicenseSettings {
  installCodeTtlMs: number;
  downloadLinkTtlSeconds: number;
  licenseTokenTtlSeconds: number;
  registerPerMinute: number;
  /** Base URL appliances and customers reach this control plane at (else taken from the request). */
  publicUrl?: string;
  /** Name of the appliance image the download route serves from `<data>/downloads/`. */
  artifact: string;
  issuer: string;
}

function positive(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new AlgaError('E_HOST_CONFIG_INVALID', `${name} must be a positive number, got "${value}".`);
  return number;
}

export function readLicenseSettings(env: Readonly<Record<string, string | undefined>>): LicenseSettings {
  return {
    installCodeTtlMs: positive(env.ALGA_INSTALL_CODE_TTL_HOURS, 24 * 7, 'ALGA_INSTALL_CODE_TTL_HOURS') * 3_600_000,
    downloadLinkTtlSeconds: Math.round(positive(env.ALGA_DOWNLOAD_LINK_TTL_MINUTES, 24 * 60, 'ALGA_DOWNLOAD_LINK_TTL_MINUTES') * 60),
    licenseTokenTtlSeconds: Math.round(positive(env.ALGA_LICENSE_TOKEN_TTL_HOURS, 24 * 7, 'ALGA_LICENSE_TOKEN_TTL_HOURS') * 3600),
    registerPerMinute: positive(env.ALGA_REGISTER_RATE_LIMIT, 30, 'ALGA_REGISTER_RATE_LIMIT'),
    publicUrl: env.ALGA_LICENSE_PUBLIC_URL?.replace(/\/+$/, '') || undefined,
    artifact: env.ALGA_APPLIANCE_ARTIFACT || 'alga-appliance.iso',
    issuer: 'alga-license',
  };
}
