import { noteFreshDataFolder } from './fresh-folder-note.ts';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { isRole, roles } from '../../host/core/auth/scopes.ts';
import { withLocalAuth } from '../../host/core/local-auth.ts';
import { readPasswordInput } from './password-input.ts';

/**
 * `alga-host user create`: a user, written straight into the data folder (the host may be
 * running). The password comes from standard input or --password-file, never from the arguments.
 */
export function register(program: Command): void {
  const user = program.command('user').description('Manage users in the data folder (needs file access to it)');
  user
    .command('create')
    .description('Create a user; the password is read from standard input or --password-file')
    .requiredOption('--username <name>', 'user name (no spaces)')
    .option('--tenant <id>', 'the tenant the user belongs to (required unless --role admin)')
    .option('--role <role>', `${roles.join(' | ')}`, 'member')
    .option('--password-file <file>', 'file holding the password (default: read standard input)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--profile <profile>', 'the host\'s profile, for a fresh data folder\'s infra secrets (default: $ALGA_PROFILE or all)')
    .action(async (options: { username: string; tenant?: string; role: string; passwordFile?: string; data?: string; profile?: string }) => {
      const { role } = options;
      if (!isRole(role)) throw new AlgaError('E_REQUEST_INVALID', `--role is one of ${roles.join(', ')}.`);
      if (role !== 'admin' && options.tenant === undefined) throw new AlgaError('E_REQUEST_INVALID', `A ${role} needs --tenant.`);
      const password = await readPasswordInput(options.passwordFile);
      const { created, dataDir } = await withLocalAuth({ dataDir: options.data, profile: options.profile, onFreshFolder: noteFreshDataFolder }, async (auth, dataDir) => ({
        created: await auth.createUser({ username: options.username, password, role, tenantId: options.tenant }),
        dataDir,
      }));
      const tenant = created.tenantId ? ` of tenant ${created.tenantId}` : '';
      process.stdout.write(`Created ${created.role} "${created.username}"${tenant} (${created.id}) in ${dataDir}.\n`);
    });
}
