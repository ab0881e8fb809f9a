import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { resolveHostConfig, trustBundlePath } from '../../host/core/config.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { keyIdOf, withoutTrustedKey, withTrustedKey, type TrustBundleDocument } from '../../lib/signing/index.ts';

interface TrustOptions {
  data?: string;
}

/** `alga-host trust add|list|remove`: the publisher keys this host accepts, in `<data>/trust-bundle.json`. */
export function register(program: Command): void {
  const trust = program
    .command('trust')
    .description('Manage the publisher keys this host trusts (<data>/trust-bundle.json; SIGNING_TRUST_BUNDLE overrides it)');

  trust
    .command('add')
    .description('Trust a publisher\'s Ed25519 public key (as printed by `alga-ext keygen`)')
    .requiredOption('--publisher <name>', 'the publisher the key signs for (the manifest\'s "publisher")')
    .requiredOption('--public-key <base64>', 'the Ed25519 public key')
    .option('--key-id <id>', 'the key id printed by keygen (checked against the key)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .action((options: TrustOptions & { publisher: string; publicKey: string; keyId?: string }) => {
      const path = bundlePath(options);
      const keyId = options.keyId ?? keyIdOf(Buffer.from(options.publicKey, 'base64'));
      writeDocument(path, withTrustedKey(readDocument(path), { keyId, publisher: options.publisher, publicKey: options.publicKey }, dirname(path)));
      process.stdout.write(`Trusted ${keyId} for publisher ${options.publisher} in ${path}. A running host and its runner pick it up within a second, no restart needed.\n`);
      warnIfOverridden(path);
    });

  trust
    .command('list')
    .description('List the trusted keys')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .action((options: TrustOptions) => {
      for (const key of readDocument(bundlePath(options)).keys) process.stdout.write(`${key.keyId}  ${key.publisher}  ${key.publicKey}\n`);
    });

  trust
    .command('remove')
    .description('Stop trusting a key')
    .requiredOption('--key-id <id>', 'the key id to remove')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .action((options: TrustOptions & { keyId: string }) => {
      const path = bundlePath(options);
      writeDocument(path, withoutTrustedKey(readDocument(path), options.keyId));
      process.stdout.write(`Removed ${options.keyId} from ${path}. A running host and its runner stop trusting it within a second, no restart needed.\n`);
      warnIfOverridden(path);
    });
}

/** A host started with SIGNING_TRUST_BUNDLE (as in this environment) reads that bundle, not the data folder's file. */
function warnIfOverridden(path: string): void {
  const override = process.env.SIGNING_TRUST_BUNDLE;
  if (!override || override === path) return;
  const what = override.trim().startsWith('{') ? 'inline JSON' : override;
  process.stderr.write(`warning: SIGNING_TRUST_BUNDLE is set here (${what}): a host started with it trusts that bundle, not ${path}; change that one, or unset SIGNING_TRUST_BUNDLE where the host starts.\n`);
}

function bundlePath(options: TrustOptions): string {
  return trustBundlePath(resolveHostConfig({ dataDir: options.data }).dataDir);
}

function readDocument(path: string): TrustBundleDocument {
  if (!existsSync(path)) return { version: 1, keys: [] };
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as TrustBundleDocument;
  } catch (error) {
    throw new AlgaError('E_TRUST_BUNDLE_INVALID', `${path} is not JSON: ${(error as Error).message}.`);
  }
}

function writeDocument(path: string, document: TrustBundleDocument): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644 });
  renameSync(temporary, path);
}
