import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { generateSigningKey, withTrustedKey, writeKeyFile, type TrustBundleDocument, type TrustedKey } from '../../lib/signing/index.ts';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Create an Ed25519 signing key (file mode 0600); prints the public key, key id and a trust-bundle entry')
    .requiredOption('-o, --output <file>', 'where to write the private key (never overwritten)')
    .option('--publisher <id>', 'publisher for the trust-bundle entry (default: from ./manifest.json)')
    .option('--trust <trust.json>', 'also write the entry into this trust bundle (created when it does not exist), for `alga-ext verify --trust`')
    .action((options: { output: string; publisher?: string; trust?: string }) => {
      const path = resolve(options.output);
      const publisher = options.publisher ?? publisherFromManifest();
      if (options.trust && !publisher) throw new AlgaError('E_CLI_USAGE', 'With --trust, give --publisher <id> (or run keygen in a project whose manifest.json names the publisher).');
      const key = generateSigningKey();
      const entry = { keyId: key.keyId, publisher: publisher ?? '<publisher>', publicKey: key.publicKey };
      const trustDocument = options.trust ? trustWith(resolve(options.trust), entry) : undefined; // checked before the key is written
      writeKeyFile(path, key);
      if (trustDocument) writeTrust(resolve(options.trust!), trustDocument);
      process.stdout.write(
        [
          `Wrote private key ${path} (mode 0600). Keep it secret.`,
          `public key: ${key.publicKey}`,
          `key id:     ${key.keyId}`,
          options.trust ? `Trusted it for publisher ${entry.publisher} in ${resolve(options.trust)}. Trust-bundle entry:` : 'Trust-bundle entry (add to "keys" in trust.json, or run keygen with --trust trust.json):',
          JSON.stringify(entry, null, 2),
          '',
        ].join('\n'),
      );
    });
}

function publisherFromManifest(): string | undefined {
  if (!existsSync('manifest.json')) return undefined;
  try {
    const publisher = (JSON.parse(readFileSync('manifest.json', 'utf8')) as { publisher?: unknown }).publisher;
    return typeof publisher === 'string' ? publisher : undefined;
  } catch {
    return undefined;
  }
}

/** The trust bundle at `path` (a new one when it does not exist) with `entry` trusted. */
function trustWith(path: string, entry: TrustedKey): TrustBundleDocument {
  let document: TrustBundleDocument = { version: 1, keys: [] };
  if (existsSync(path)) {
    try {
      document = JSON.parse(readFileSync(path, 'utf8')) as TrustBundleDocument;
    } catch (error) {
      throw new AlgaError('E_TRUST_BUNDLE_INVALID', `${path} is not JSON: ${(error as Error).message}`);
    }
  }
  return withTrustedKey(document, entry, dirname(path));
}

function writeTrust(path: string, document: TrustBundleDocument): void {
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`);
  renameSync(temporary, path);
}
