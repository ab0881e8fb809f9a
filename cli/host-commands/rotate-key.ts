import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { resolveDataDir } from '../../host/core/secrets/cli-defaults.ts';
import { retireDownloadLinkKey, retireSessionKey, rotateDownloadLinkKey, rotateSessionKey } from '../../host/core/secrets/key-rotation.ts';
import { retireEncryptionKey, rotateEncryptionKey } from '../../host/core/secrets/rotation.ts';
import { resealToActiveRunnerKey, retireRunnerKey, rotateRunnerKey } from '../../host/core/secrets/runner-key-rotation.ts';
import { retireLicenseSigningKey, rotateLicenseSigningKey } from '../../host/plugins/license/rotate-signing-key.ts';

const kinds = ['encryption', 'session', 'license-signing', 'download-link', 'runner-envelope'] as const;
type Kind = (typeof kinds)[number];

interface Options {
  data?: string;
  keepOld?: boolean;
  retire?: string;
  stage?: boolean;
  reseal?: boolean;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

/** What stays valid after each kind of rotation, and when the old key may go. */
const afterRotation: Record<Exclude<Kind, 'encryption'>, string> = {
  session: 'Sessions signed with the old key keep working and are re-signed on their next request; retire the old key once the longest session has passed (12 h by default).',
  'license-signing': 'The JWKS serves the old key until the last license token it signed expires, and the old key endorses the new one, so appliances accept it at their next check-in.',
  'download-link': 'Links signed with the old key keep working until they expire (ALGA_DOWNLOAD_LINK_TTL_MINUTES); it verifies no link that outlives that.',
  'runner-envelope': '',
};

async function rotate(kind: Kind, dataDir: string, options: Options): Promise<void> {
  switch (kind) {
    case 'encryption': {
      const report = await rotateEncryptionKey(dataDir, { keepOld: options.keepOld });
      out(`New active encryption key: ${report.newKeyId}`);
      if (report.valuesElsewhere) out(`Nothing was re-encrypted and every earlier key was kept: ${report.valuesElsewhere}. Values stored under the earlier keys stay readable; new ones use the new key.`);
      else out(`Re-encrypted ${report.reencrypted} value(s).`);
      if (report.retired.length) out(`Retired: ${report.retired.join(', ')}`);
      if (report.kept.length) out(`Kept (still in use or --keep-old): ${report.kept.join(', ')}`);
      if (report.failures.length) {
        for (const failure of report.failures) {
          process.stderr.write(`cannot decrypt ${failure.database}/${failure.key} ${failure.path} (key ${failure.keyId}): ${failure.reason}\n`);
        }
        throw new AlgaError('E_KEY_ROTATION_INCOMPLETE', `${report.failures.length} value(s) were left under their old key; the keys they name were kept.`);
      }
      return;
    }
    case 'runner-envelope': {
      if (options.reseal) {
        const { resealed, unreadable } = await resealToActiveRunnerKey(dataDir);
        out(`Re-sealed ${resealed} install secret envelope(s) to the active runner key.`);
        if (unreadable.length) throw new AlgaError('E_KEY_ROTATION_INCOMPLETE', `No runner key opens the envelope(s) in ${unreadable.map((where) => `${where.database}/${where.key}`).join(', ')}.`);
        return;
      }
      const report = await rotateRunnerKey(dataDir, { stage: options.stage });
      out(`New active runner envelope key: ${report.newKeyId}`);
      out(report.localRunner ? 'The local runner opens envelopes sealed to the new key and the old ones.' : 'No local runner here: give each runner (RUNNER_SECRET_KEY_FILE) the new secret key from runner-keypair.json before re-sealing.');
      if (options.stage) {
        out('Staged: nothing was re-sealed. Once every runner has the new key, run `alga-host rotate-key runner-envelope --reseal`.');
        return;
      }
      if (report.valuesElsewhere) {
        out(`Nothing was re-sealed and every earlier key was kept: ${report.valuesElsewhere}. Envelopes sealed to the earlier keys still open; new ones use the new key.`);
        return;
      }
      out(`Re-sealed ${report.resealed} install secret envelope(s) to the new key.`);
      if (report.kept.length) out(`Kept: ${report.kept.join(', ')}; retire each with \`alga-host rotate-key runner-envelope --retire KEYID\` (refused while an envelope still needs it).`);
      if (report.unreadable.length || report.remaining) {
        throw new AlgaError('E_KEY_ROTATION_INCOMPLETE', `${report.remaining} envelope(s) are still sealed to an old key${report.unreadable.length ? `; no key opens ${report.unreadable.map((where) => `${where.database}/${where.key}`).join(', ')}` : ''}. Run \`alga-host rotate-key runner-envelope --reseal\` again.`);
      }
      return;
    }
    default: {
      const rotation = kind === 'session' ? rotateSessionKey(dataDir) : kind === 'download-link' ? rotateDownloadLinkKey(dataDir) : rotateLicenseSigningKey(dataDir);
      out(`New active ${kind} key: ${rotation.newKeyId}`);
      out(afterRotation[kind]);
      if (rotation.kept.length) out(`Kept: ${rotation.kept.join(', ')} (\`alga-host rotate-key ${kind} --retire KEYID\` removes one).`);
      out('A running host uses the new key at once; nothing needs a restart.');
    }
  }
}

async function retire(kind: Kind, dataDir: string, keyId: string): Promise<void> {
  if (kind === 'encryption') await retireEncryptionKey(dataDir, keyId);
  else if (kind === 'runner-envelope') await retireRunnerKey(dataDir, keyId);
  else if (kind === 'session') retireSessionKey(dataDir, keyId);
  else if (kind === 'download-link') retireDownloadLinkKey(dataDir, keyId);
  else retireLicenseSigningKey(dataDir, keyId);
  out(`Retired ${kind} key ${keyId}.`);
}

/** `alga-host rotate-key <kind>`: one command per key; docs/provisioning.md says what each keeps valid. */
export function register(program: Command): void {
  program
    .command('rotate-key')
    .argument('<kind>', kinds.join(' | '))
    .description('Rotate an infra key: a new key becomes active, what the old one made stays valid (encryption: stop the host first; every other kind works on a running host)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--keep-old', 'encryption: keep the old keys in the keyring after re-encrypting')
    .option('--retire <keyId>', 'only retire this (old) key; refused for the active key, and for keys stored values still need')
    .option('--stage', 'runner-envelope: add and activate the new key pair without re-sealing (runners elsewhere need it first)')
    .option('--reseal', 'runner-envelope: re-seal every envelope still on an old key to the active key')
    .action(async (kind: string, options: Options) => {
      if (!(kinds as readonly string[]).includes(kind)) throw new AlgaError('E_UNKNOWN_SECRET_KIND', `Got "${kind}".`);
      const dataDir = resolveDataDir(options.data);
      if (options.retire) await retire(kind as Kind, dataDir, options.retire);
      else await rotate(kind as Kind, dataDir, options);
    });
}
