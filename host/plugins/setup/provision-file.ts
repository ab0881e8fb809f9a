import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AlgaError } from '../../../lib/errors/index.ts';
import { isExposed } from '../../core/secrets/files.ts';
import type { ClaimInput } from './claim.ts';
import { decodeUtf8, parseDotenv } from './dotenv.ts';

/**
 * `<data>/provision.env`: the declarative pre-claim (cloud-init writes it on an appliance).
 * KEY=VALUE lines in the dotenv subset of ./dotenv.ts (a value is never silently cut or
 * changed: what cannot be read exactly is refused with its line). ALGA_ADMIN_PASSWORD is required;
 * ALGA_ADMIN_USERNAME, ALGA_PROVIDER_KEY and ALGA_INSTALL_CODE are optional. Must be mode 0600.
 * Deleted once the claim succeeds.
 */

const KNOWN = new Set(['ALGA_ADMIN_USERNAME', 'ALGA_ADMIN_PASSWORD', 'ALGA_PROVIDER_KEY', 'ALGA_INSTALL_CODE']);

export function provisionFilePath(dataDir: string): string {
  return join(dataDir, 'provision.env');
}

export function parseProvisionEnv(text: string): ClaimInput {
  const values = parseDotenv(text, KNOWN);
  if (!values.get('ALGA_ADMIN_PASSWORD')) throw new AlgaError('E_PROVISION_FILE_INVALID', 'ALGA_ADMIN_PASSWORD is required.');
  return {
    username: values.get('ALGA_ADMIN_USERNAME') || undefined,
    password: values.get('ALGA_ADMIN_PASSWORD'),
    providerKey: values.get('ALGA_PROVIDER_KEY') || undefined,
    installCode: values.get('ALGA_INSTALL_CODE') || undefined,
  };
}

/** The claim input from provision.env, or undefined when there is none. */
export function readProvisionFile(dataDir: string): ClaimInput | undefined {
  const path = provisionFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  if (isExposed(path)) throw new AlgaError('E_PROVISION_FILE_MODE', `Run \`chmod 600 ${path}\` and restart.`);
  return parseProvisionEnv(decodeUtf8(readFileSync(path), 'provision.env'));
}

export function removeProvisionFile(dataDir: string): void {
  rmSync(provisionFilePath(dataDir), { force: true });
}
