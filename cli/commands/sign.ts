import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { contentHashOf, readOptionalText, readUserFile, unpackBundle, writeUserFile } from '../../lib/bundle/index.ts';
import {
  addSignature,
  addSigstoreBundle,
  parseSignatureFile,
  readKeyFile,
  signContentHash,
  type SignatureFile,
} from '../../lib/signing/index.ts';

export function register(program: Command): void {
  program
    .command('sign')
    .description('Sign a bundle\'s content hash with an Ed25519 key (or attach a Sigstore bundle); writes or adds to BUNDLE.sig.json')
    .argument('<bundle>', 'the .algabundle file')
    .option('--key <file>', 'private key file from `alga-ext keygen`')
    .option('--sigstore <bundle.json>', 'attach a Sigstore bundle made for this file (e.g. cosign sign-blob --bundle)')
    .action((bundlePath: string, options: { key?: string; sigstore?: string }) => {
      if (!options.key && !options.sigstore) throw new AlgaError('E_CLI_USAGE', 'Give --key <file> (or --sigstore <bundle.json>).');
      const key = options.key ? readKeyFile(options.key) : undefined;
      const bytes = readUserFile(bundlePath);
      unpackBundle(bytes);
      const hash = contentHashOf(bytes);
      const signaturePath = `${bundlePath}.sig.json`;
      const existingText = readOptionalText(signaturePath);
      let file: SignatureFile | undefined;
      if (existingText !== undefined) {
        file = parseSignatureFile(existingText);
        // Signatures of a previous build of this file (re-packed since) sign nothing here: start afresh.
        if (file.contentHash !== hash) {
          process.stderr.write(`Replacing ${signaturePath}: it signed ${file.contentHash}, an earlier build of this file.\n`);
          file = undefined;
        }
      }
      if (key) file = addSignature(file, hash, signContentHash(hash, key));
      if (options.sigstore) file = addSigstoreBundle(file, hash, parseSigstoreJson(options.sigstore));
      writeUserFile(signaturePath, `${JSON.stringify(file, null, 2)}\n`);
      const by = [key?.keyId, options.sigstore && 'a Sigstore bundle'].filter(Boolean).join(' and ');
      const count = file!.signatures.length + (file!.sigstore?.length ?? 0);
      process.stdout.write(`Signed ${hash} with ${by}; wrote ${signaturePath} (${count} signature(s))\n`);
    });
}

function parseSigstoreJson(path: string): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(readUserFile(path)));
  } catch (error) {
    if (error instanceof AlgaError) throw error;
    throw new AlgaError('E_SIGSTORE_INVALID', `${path} is not JSON: ${(error as Error).message}`);
  }
}
