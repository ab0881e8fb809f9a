import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { resolveDataDir } from '../../host/core/secrets/cli-defaults.ts';
import { retireEncryptionKey, rotateEncryptionKey } from '../../host/core/secrets/rotation.ts';

export function register(program: Command): void {
  program
    .command('rotate-key')
    .argument('<kind>', 'which key: encryption')
    .description('Rotate an infra key: new key id, every stored value re-encrypted, old keys retired once unused (stop the host first)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--keep-old', 'keep the old keys in the keyring after re-encrypting')
    .option('--retire <keyId>', 'only retire this key (refused while any stored value uses it)')
    .action(async (kind: string, options: { data?: string; keepOld?: boolean; retire?: string }) => {
      if (kind !== 'encryption') throw new AlgaError('E_UNKNOWN_SECRET_KIND', `"${kind}" cannot be rotated here; the kind is "encryption".`);
      const dataDir = resolveDataDir(options.data);
      const out = process.stdout;
      if (options.retire) {
        await retireEncryptionKey(dataDir, options.retire);
        out.write(`Retired encryption key ${options.retire}.\n`);
        return;
      }
      const report = await rotateEncryptionKey(dataDir, { keepOld: options.keepOld });
      out.write(`New active encryption key: ${report.newKeyId}\n`);
      out.write(`Re-encrypted ${report.reencrypted} value(s).\n`);
      if (report.retired.length) out.write(`Retired: ${report.retired.join(', ')}\n`);
      if (report.kept.length) out.write(`Kept (still in use or --keep-old): ${report.kept.join(', ')}\n`);
      if (report.failures.length) {
        for (const failure of report.failures) {
          process.stderr.write(`cannot decrypt ${failure.database}/${failure.key} ${failure.path} (key ${failure.keyId}): ${failure.reason}\n`);
        }
        throw new AlgaError('E_KEY_ROTATION_INCOMPLETE', `${report.failures.length} value(s) were left under their old key; the keys they name were kept.`);
      }
    });
}
