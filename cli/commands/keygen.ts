import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { generateSigningKey, writeKeyFile } from '../../lib/signing/index.ts';

export function register(program: Command): void {
  program
    .command('keygen')
    .description('Create an Ed25519 signing key (file mode 0600); prints the public key, key id and a trust-bundle entry')
    .requiredOption('-o, --output <file>', 'where to write the private key (never overwritten)')
    .option('--publisher <id>', 'publisher for the trust-bundle entry (default: from ./manifest.json)')
    .action((options: { output: string; publisher?: string }) => {
      const path = resolve(options.output);
      const key = generateSigningKey();
      writeKeyFile(path, key);
      const publisher = options.publisher ?? publisherFromManifest() ?? '<publisher>';
      const entry = { keyId: key.keyId, publisher, publicKey: key.publicKey };
      process.stdout.write(
        [
          `Wrote private key ${path} (mode 0600). Keep it secret.`,
          `public key: ${key.publicKey}`,
          `key id:     ${key.keyId}`,
          'Trust-bundle entry (add to "keys" in trust.json):',
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
