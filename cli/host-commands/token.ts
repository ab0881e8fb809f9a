import { noteFreshDataFolder } from './fresh-folder-note.ts';
import type { Command } from 'commander';
import type { TokenKind } from '../../host/core/auth/index.ts';
import { withLocalAuth } from '../../host/core/local-auth.ts';

/**
 * `alga-host token create`: an API token, written straight into the data folder (the host may
 * be running). The token goes to stdout once and nowhere else — the store keeps its SHA-256 —
 * so `TOKEN=$(alga-host token create …)` captures it; what was created is described on stderr.
 */
export function register(program: Command): void {
  const token = program.command('token').description('Manage API tokens in the data folder (needs file access to it)');
  token
    .command('create')
    .description('Create an API token and print it once')
    .requiredOption('--kind <kind>', 'publisher | tenant | service')
    .requiredOption('--name <name>', 'what the token is for (its label)')
    .option('--publisher <publisher>', 'publisher tokens: the publisher it may publish for')
    .option('--tenant <id>', 'tenant tokens: the tenant it acts for')
    .option('--scope <scope...>', 'scopes instead of the kind\'s defaults (e.g. --scope registry:read ext:call)')
    .option('--expires-at <iso>', 'expiry date (ISO 8601; default: never)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--profile <profile>', 'the host\'s profile, for a fresh data folder\'s infra secrets (default: $ALGA_PROFILE or all)')
    .action(async (options: { kind: string; name: string; publisher?: string; tenant?: string; scope?: string[]; expiresAt?: string; data?: string; profile?: string }) => {
      const { created, dataDir } = await withLocalAuth({ dataDir: options.data, profile: options.profile, onFreshFolder: noteFreshDataFolder }, (auth, dataDir) => ({
        created: auth.createToken({ kind: options.kind as TokenKind, label: options.name, publisher: options.publisher, tenantId: options.tenant, scopes: options.scope, expiresAt: options.expiresAt }),
        dataDir,
      }));
      const { record } = created;
      const boundTo = record.tenantId ? ` for tenant ${record.tenantId}` : record.publisher ? ` for publisher ${record.publisher}` : '';
      process.stderr.write(`Created ${record.kind} token ${record.id} "${record.label}"${boundTo} (scopes: ${record.scopes.join(' ')}) in ${dataDir}.\nThe token (standard output) is shown only this once; store it now.\n`);
      process.stdout.write(`${created.token}\n`);
    });
}
