import type { Command } from 'commander';
import { initInfraSecrets, secretsDir } from '../../host/core/infra-secrets.ts';
import { resolveDataDir, resolveProfile } from '../../host/core/secrets/cli-defaults.ts';

export function register(program: Command): void {
  program
    .command('init-secrets')
    .description('Generate every missing infra secret (CSPRNG, files mode 0600 under <data>/secrets)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--profile <profile>', 'appliance | control-plane | all (default: $ALGA_PROFILE or all)')
    .option('--force', 'regenerate every secret; existing encryption keys stay readable and a new one becomes active')
    .action((options: { data?: string; profile?: string; force?: boolean }) => {
      const dataDir = resolveDataDir(options.data);
      const report = initInfraSecrets(dataDir, { profile: resolveProfile(options.profile), overwrite: options.force });
      const out = process.stdout;
      out.write(`Infra secrets in ${secretsDir(dataDir)}\n`);
      for (const label of report.created) out.write(`  created  ${label}\n`);
      for (const label of report.kept) out.write(`  kept     ${label}\n`);
      if (options.force && report.created.includes('encryption key')) {
        out.write(`A new encryption key (${report.secrets.encryptionKeys.activeKeyId}) is active; run \`alga-host rotate-key encryption --data ${dataDir}\` to move stored values onto it.\n`);
      }
    });
}
