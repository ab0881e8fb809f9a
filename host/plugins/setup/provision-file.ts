import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AlgaError } from '../../../lib/errors/index.ts';
import { isExposed } from '../../core/secrets/files.ts';
import type { ClaimInput } from './claim.ts';

/**
 * `<data>/provision.env`: the declarative pre-claim (cloud-init writes it on an appliance).
 * KEY=VALUE lines; ALGA_ADMIN_PASSWORD is required, ALGA_ADMIN_USERNAME, ALGA_PROVIDER_KEY and
 * ALGA_INSTALL_CODE are optional. Must be mode 0600. Deleted once the claim succeeds.
 */

const KNOWN = new Set(['ALGA_ADMIN_USERNAME', 'ALGA_ADMIN_PASSWORD', 'ALGA_PROVIDER_KEY', 'ALGA_INSTALL_CODE']);

export function provisionFilePath(dataDir: string): string {
  return join(dataDir, 'provision.env');
}

export function parseProvisionEnv(text: string): ClaimInput {
  const values: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Z_][A-Z0-9_]*)\s*=\s*(.*)$/.exec(trimmed);
    if (!match) throw new AlgaError('E_PROVISION_FILE_INVALID', `Line ${index + 1} is not KEY=VALUE.`);
    const [, key, rawValue] = match;
    if (!KNOWN.has(key)) throw new AlgaError('E_PROVISION_FILE_INVALID', `Line ${index + 1}: unknown setting ${key} (known: ${[...KNOWN].join(', ')}).`);
    const quoted = /^(["'])(.*)\1$/.exec(rawValue);
    values[key] = quoted ? quoted[2] : rawValue.replace(/\s+#.*$/, '');
  });
  if (!values.ALGA_ADMIN_PASSWORD) throw new AlgaError('E_PROVISION_FILE_INVALID', 'ALGA_ADMIN_PASSWORD is required.');
  return {
    username: values.ALGA_ADMIN_USERNAME || undefined,
    password: values.ALGA_ADMIN_PASSWORD,
    providerKey: values.ALGA_PROVIDER_KEY || undefined,
    installCode: values.ALGA_INSTALL_CODE || undefined,
  };
}

/** The claim input from provision.env, or undefined when there is none. */
export function readProvisionFile(dataDir: string): ClaimInput | undefined {
  const path = provisionFilePath(dataDir);
  if (!existsSync(path)) return undefined;
  if (isExposed(path)) throw new AlgaError('E_PROVISION_FILE_MODE', `Run \`chmod 600 ${path}\` and restart.`);
  return parseProvisionEnv(readFileSync(path, 'utf8'));
}

export function removeProvisionFile(dataDir: string): void {
  rmSync(provisionFilePath(dataDir), { force: true });
}
