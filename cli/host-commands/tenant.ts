import { noteFreshDataFolder } from './fresh-folder-note.ts';
import type { Command } from 'commander';
import { withLocalAuth } from '../../host/core/local-auth.ts';

/** `alga-host tenant create`: a tenant, written straight into the data folder (the host may be running). */
export function register(program: Command): void {
  const tenant = program.command('tenant').description('Manage tenants in the data folder (needs file access to it)');
  tenant
    .command('create')
    .description('Create a tenant')
    .requiredOption('--name <name>', 'display name')
    .option('--id <id>', 'tenant id: 1-64 letters, digits, ".", "_" or "-" (default: generated)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--profile <profile>', 'the host\'s profile, for a fresh data folder\'s infra secrets (default: $ALGA_PROFILE or all)')
    .action(async (options: { name: string; id?: string; data?: string; profile?: string }) => {
      const { created, dataDir } = await withLocalAuth({ dataDir: options.data, profile: options.profile, onFreshFolder: noteFreshDataFolder }, (auth, dataDir) => ({ created: auth.createTenant({ id: options.id, name: options.name }), dataDir }));
      process.stdout.write(`Created tenant ${created.id} ("${created.name}") in ${dataDir}.\n`);
    });
}
