import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { resolveHostConfig } from '../../host/core/config.ts';
import { coreMigrations } from '../../host/core/core-migrations.ts';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { joinFleet } from '../../host/core/fleet-secrets.ts';
import { openHostStore } from '../../host/core/store-engine.ts';
import { installCodeStep } from '../../host/plugins/appliance/install-code-step.ts';
import { claimHost } from '../../host/plugins/setup/claim.ts';
import { readPasswordInput } from './password-input.ts';

function readProviderKeyFile(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new AlgaError('E_PROVIDER_KEY_FILE_UNREADABLE', `${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`);
  }
}

/**
 * `alga-host setup`: the headless claim. Runs the same claim as the /setup page (and the same
 * install-code redemption), trusted by file access instead of the setup token.
 */
export function register(program: Command): void {
  program
    .command('setup')
    .description('Claim this host headlessly: admin account, optional install code and provider key')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--profile <profile>', 'appliance | all (default: $ALGA_PROFILE or all)')
    .option('--install-code <code>', 'install code from the registration email (redeemed at $ALGA_LICENSE_SERVICE_URL)')
    .option('--username <name>', 'admin user name', 'admin')
    .option('--password-file <file>', 'file holding the admin password (default: $ALGA_ADMIN_PASSWORD)')
    .option('--provider-key-file <file>', 'file holding a provider API key to store encrypted')
    .action(async (options: { data?: string; profile?: string; installCode?: string; username: string; passwordFile?: string; providerKeyFile?: string }) => {
      const config = resolveHostConfig({ dataDir: options.data, profile: options.profile });
      const password = options.passwordFile ? await readPasswordInput(options.passwordFile) : process.env.ALGA_ADMIN_PASSWORD;
      if (!password) throw new AlgaError('E_SETUP_BAD_REQUEST', 'Give the admin password with --password-file FILE or ALGA_ADMIN_PASSWORD.');
      const providerKey = options.providerKeyFile ? readProviderKeyFile(options.providerKeyFile) : undefined;
      const secrets = ensureInfraSecrets(config.dataDir, { profile: config.profile });
      // A fleet node's command claims the fleet (its PostgreSQL store), as the /setup page of any node would.
      const store = openHostStore(config, 'alga-host setup');
      try {
        if (config.fleet.databaseUrl) joinFleet(store, secrets);
        store.migrate('core', coreMigrations);
        const audit = createAuditLog(store);
        const auth = createAuth({ store, audit });
        const steps = [installCodeStep({ store, secrets, env: config.env })];
        const result = await claimHost(
          { dataDir: config.dataDir, store, auth, audit, secrets, steps },
          { username: options.username, password, providerKey, installCode: options.installCode },
          { via: 'cli' },
        );
        process.stdout.write(`Claimed ${config.fleet.databaseUrl ? 'the fleet' : config.dataDir}: admin "${result.admin.username}", tenant ${result.tenantId}.\n`);
      } finally {
        await store.close();
      }
    });
}
