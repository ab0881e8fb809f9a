import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { contentHashOf, readOptionalText, readUserFile } from '../../lib/bundle/index.ts';
import { loadTrustBundle, verifyBundle, verifySigstoreBundle } from '../../lib/signing/index.ts';

interface VerifyCommandOptions {
  trust?: string;
  signature?: string;
  expectedHash?: string;
  sigstore?: string;
  key?: string;
  identity?: string;
  issuer?: string;
  trustedRoot?: string;
}

export function register(program: Command): void {
  program
    .command('verify')
    .description('Verify a bundle against a trust bundle, or any file against a Sigstore bundle; exits 0 only when verified')
    .argument('<file>', 'the .algabundle (or, with --sigstore, any signed file)')
    .option('--trust <trust.json>', 'trust bundle: path or inline JSON (default $SIGNING_TRUST_BUNDLE)')
    .option('--signature <file>', 'signature file (default FILE.sig.json)')
    .option('--expected-hash <sha256:hex>', 'refuse unless the file has this content hash')
    .option('--sigstore <bundle.json>', 'verify FILE with this Sigstore bundle, fully offline')
    .option('--key <pem>', 'with --sigstore: the signer\'s public key (PEM file)')
    .option('--identity <san>', 'with --sigstore: the certificate identity required of the signer')
    .option('--issuer <url>', 'with --sigstore: the OIDC issuer of that identity')
    .option('--trusted-root <json>', 'with --sigstore: a trusted_root.json (default: Sigstore public good)')
    .action((file: string, options: VerifyCommandOptions) => {
      if (options.sigstore) verifyWithSigstore(file, options);
      else verifyWithTrustBundle(file, options);
    });
}

function verifyWithTrustBundle(file: string, options: VerifyCommandOptions): void {
  const trustSource = options.trust ?? process.env.SIGNING_TRUST_BUNDLE;
  if (!trustSource) throw new AlgaError('E_CLI_USAGE', 'Give --trust <trust.json> (or set SIGNING_TRUST_BUNDLE), or use --sigstore.');
  const trust = loadTrustBundle(trustSource);
  const bytes = readUserFile(file);
  const signaturePath = options.signature ?? `${file}.sig.json`;
  const signatureText = readOptionalText(signaturePath);
  if (signatureText === undefined) throw new AlgaError('E_SIGNATURE_MISSING', `${signaturePath} does not exist; sign with \`alga-ext sign\`.`);
  const verified = verifyBundle(bytes, signatureText, trust, { expectedHash: options.expectedHash });
  const { name, version } = verified.manifest;
  process.stdout.write(`verified ${verified.hash} ${name}@${version}, signed by ${verified.signer.keyId} (publisher ${verified.signer.publisher})\n`);
}

function verifyWithSigstore(file: string, options: VerifyCommandOptions): void {
  if (!options.key && !(options.identity && options.issuer)) {
    throw new AlgaError('E_CLI_USAGE', 'With --sigstore, give --key <pem>, or both --identity and --issuer.');
  }
  const bytes = readUserFile(file);
  if (options.expectedHash && options.expectedHash !== contentHashOf(bytes)) {
    throw new AlgaError('E_BUNDLE_HASH_MISMATCH', `Expected ${options.expectedHash}, the file hashes to ${contentHashOf(bytes)}.`);
  }
  const signer = verifySigstoreBundle({
    bundle: parseJsonFile(options.sigstore!, 'E_SIGSTORE_INVALID'),
    artifact: bytes,
    trustedRoot: options.trustedRoot ? parseJsonFile(options.trustedRoot, 'E_TRUST_BUNDLE_INVALID') : undefined,
    key: options.key ? new TextDecoder().decode(readUserFile(options.key)) : undefined,
    identity: options.identity,
    issuer: options.issuer,
  });
  const who = options.key ? `key ${options.key}` : `${signer.identity} (issuer ${signer.issuer})`;
  process.stdout.write(`verified ${contentHashOf(bytes)} with Sigstore, signed by ${who}\n`);
}

function parseJsonFile(path: string, code: 'E_SIGSTORE_INVALID' | 'E_TRUST_BUNDLE_INVALID'): unknown {
  const text = new TextDecoder().decode(readUserFile(path));
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new AlgaError(code, `${path} is not JSON: ${(error as Error).message}`);
  }
}
