import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { HostAuth } from '../../core/auth/index.ts';
import { writePrivateFile } from '../../core/secrets/files.ts';

/** The scope a caller (nm-store, the operator) needs for the service routes. */
export const LICENSE_ADMIN_SCOPE = 'license:admin';

export function serviceTokenPath(dataDir: string): string {
  return join(dataDir, 'license-service-token');
}

/**
 * On a fresh control plane, mints the first service token (a host API token with the
 * `license:admin` scope) and writes it to `<data>/license-service-token` (0600). Once any such
 * token exists nothing is minted; more are made through the admin API.
 */
export function ensureServiceToken(auth: HostAuth, dataDir: string): { minted: boolean; path: string } {
  const path = serviceTokenPath(dataDir);
  const existing = auth.listTokens({ kind: 'service' }).some((record) => record.scopes.includes(LICENSE_ADMIN_SCOPE));
  if (existing || existsSync(path)) return { minted: false, path };
  const { token } = auth.createToken({ kind: 'service', label: 'license service', scopes: [LICENSE_ADMIN_SCOPE] });
  writePrivateFile(path, `${token}\n`, true);
  return { minted: true, path };
}
