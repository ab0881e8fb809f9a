import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { resolveFleetSettings } from '../../host/core/fleet-config.ts';
import { resolveDataDir } from '../../host/core/secrets/cli-defaults.ts';
import { createAuditLog } from '../../host/core/audit.ts';
import { createAuth } from '../../host/core/auth/index.ts';
import { coreMigrations } from '../../host/core/core-migrations.ts';
import { openStore } from '../../host/core/store.ts';
import { readSetupSettings } from '../../host/plugins/setup/settings.ts';
import { describeReset, resetClaim } from '../../host/plugins/setup/reset-claim.ts';

/**
 * `alga-host reset-claim`: reopens first-run setup with a fresh token. It works on the data
 * folder directly — whoever can run it already has file access to the host — and has no HTTP
 * route. It voids every credential issued before it (sessions, admin API tokens, admin
 * passwords: see setup/reset-claim.ts) and says so; the tenant, other accounts and the license
 * stay, and the next claim adds an admin.
 */
export function register(program: Command): void {
  program
    .command('reset-claim')
    .description('Reopen first-run setup with a fresh setup token (needs file access to the data folder)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--ttl-minutes <n>', 'how long the new token is valid (default: $ALGA_SETUP_TOKEN_TTL_MINUTES or until used)')
    .option('--url <url>', 'the host\'s address, for the printed setup link', 'http://<host>:<port>')
    .action(async (options: { data?: string; ttlMinutes?: string; url: string }) => {
      const dataDir = resolveDataDir(options.data);
      // It also replaces this folder's runner service token, which every node of a fleet must share.
      if (resolveFleetSettings({}, process.env).databaseUrl !== undefined) {
        throw new AlgaError('E_FLEET_CONFIG_INVALID', 'reset-claim works on an embedded host\'s folder; a fleet (ALGA_DATABASE_URL or ALGA_CONFIG naming a database) cannot be reset with it yet, and nothing was changed.');
      }
      if (options.ttlMinutes !== undefined && !(Number(options.ttlMinutes) > 0)) throw new AlgaError('E_HOST_CONFIG_INVALID', `--ttl-minutes must be a positive number, got "${options.ttlMinutes}".`);
      const settings = readSetupSettings({ ...process.env, ...(options.ttlMinutes ? { ALGA_SETUP_TOKEN_TTL_MINUTES: options.ttlMinutes } : {}) });
      // A mistyped --data must not become a fresh, empty host with an open setup.
      if (!existsSync(join(dataDir, 'store'))) throw new AlgaError('E_HOST_DATA_MISSING', `${dataDir} has no store; give the data folder of an existing host with --data.`);
      const store = openStore(dataDir);
      try {
        store.migrate('core', coreMigrations);
        const auth = createAuth({ store, audit: createAuditLog(store) });
        const report = resetClaim({ store, auth, dataDir, ttlMinutes: settings.tokenTtlMinutes, setupUrl: `${options.url.replace(/\/+$/, '')}/setup` });
        process.stdout.write(`${describeReset(report, dataDir).join('\n')}\n`);
      } finally {
        await store.close();
      }
    });
}
