import { isAlgaError } from '../../../lib/errors/index.ts';
import type { HostContext } from '../../core/plugin.ts';
import { claimHost, type ClaimDeps } from './claim.ts';
import { provisionFilePath, readProvisionFile, removeProvisionFile } from './provision-file.ts';
import type { SetupSettings } from './settings.ts';
import { openSetupWithFreshToken, writeToConsoleDevice } from './surface-token.ts';

/**
 * The setup plugin's part of `alga-host start`, once the host listens: apply provision.env if
 * there is one, and otherwise — if still UNCLAIMED — surface a fresh setup token on the console.
 */
export async function provisionAtStart(host: HostContext, options: { deps: ClaimDeps; settings: SetupSettings; claimed: () => boolean; url: string }): Promise<void> {
  const { deps, settings, claimed } = options;
  const dataDir = host.config.dataDir;
  await applyProvisionFile(host, deps, claimed);
  if (claimed()) return;
  const { banner } = openSetupWithFreshToken({ store: host.store, dataDir, ttlMinutes: settings.tokenTtlMinutes, setupUrl: `${options.url.replace(/\/$/, '')}/setup` });
  if (settings.consoleDevice) {
    try {
      writeToConsoleDevice(settings.consoleDevice, banner);
      host.lifecycle.announce(`This host is UNCLAIMED: the setup token is shown on ${settings.consoleDevice} and in ${dataDir}/setup-token.`);
      return;
    } catch (error) {
      host.log.warn({ device: settings.consoleDevice, code: (error as NodeJS.ErrnoException).code }, 'could not write to the setup console; printing the token on stdout');
    }
  }
  for (const line of banner) host.lifecycle.announce(line);
}

async function applyProvisionFile(host: HostContext, deps: ClaimDeps, claimed: () => boolean): Promise<void> {
  const dataDir = host.config.dataDir;
  try {
    const input = readProvisionFile(dataDir);
    if (!input) return;
    if (claimed()) {
      removeProvisionFile(dataDir);
      host.lifecycle.announce('provision.env ignored and removed: this host is already claimed.');
      return;
    }
    const result = await claimHost(deps, input, { via: 'provision.env' });
    removeProvisionFile(dataDir);
    host.log.info({ tenantId: result.tenantId, adminUserId: result.admin.id }, 'host claimed from provision.env');
    host.lifecycle.announce(`Claimed from provision.env: admin "${result.admin.username}", tenant ${result.tenantId}. ${provisionFilePath(dataDir)} was removed.`);
  } catch (error) {
    if (!isAlgaError(error)) {
      host.log.error({ err: error }, 'provision.env was not applied');
      host.lifecycle.announce('provision.env was not applied: unexpected error (see the log). The file is kept; fix it and restart, or claim at /setup.');
      return;
    }
    host.log.error({ code: error.code }, 'provision.env was not applied');
    host.lifecycle.announce(`provision.env was not applied: ${error.code}: ${error.message} The file is kept; fix it and restart, or claim at /setup.`);
  }
}
