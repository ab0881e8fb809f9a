import type { Command } from 'commander';
import { readOptionalText, readUserFile, reproducibilityOf, unpackBundle, type Provenance, type Reproducibility } from '../../lib/bundle/index.ts';
import { loadTrustBundle, parseSignatureFile, verifyBundle } from '../../lib/signing/index.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

interface InspectReport {
  file: string;
  hash: string;
  size: number;
  manifest: unknown;
  ui: string[];
  wit: { imports: string[]; exports: string[] };
  /** What built the component (null: packed without an `alga-ext build` record). */
  provenance: Provenance | null;
  reproducibility: Reproducibility;
  signatures: {
    file: string | null;
    contentHashMatches: boolean | null;
    ed25519: { keyId: string }[];
    sigstore: number;
    verification?: { verified: true; keyId: string; publisher: string } | { verified: false; code: string; message: string };
  };
}

export function register(program: Command): void {
  program
    .command('inspect')
    .description('Show a bundle\'s manifest, hash, size, signatures and WIT imports/exports')
    .argument('<bundle>', 'the .algabundle file')
    .option('--json', 'print one JSON object')
    .option('--trust <trust.json>', 'also verify the signatures against this trust bundle')
    .action((bundlePath: string, options: { json?: boolean; trust?: string }) => {
      const bytes = readUserFile(bundlePath);
      const bundle = unpackBundle(bytes);
      const signaturePath = `${bundlePath}.sig.json`;
      const signatureText = readOptionalText(signaturePath);
      const signatureFile = signatureText === undefined ? undefined : parseSignatureFile(signatureText);
      const report: InspectReport = {
        file: bundlePath,
        hash: bundle.hash,
        size: bytes.length,
        manifest: bundle.manifest,
        ui: [...bundle.ui.keys()].sort(),
        wit: { imports: bundle.imports, exports: bundle.exports },
        provenance: bundle.provenance ?? null,
        reproducibility: reproducibilityOf(bundle),
        signatures: {
          file: signatureFile ? signaturePath : null,
          contentHashMatches: signatureFile ? signatureFile.contentHash === bundle.hash : null,
          ed25519: (signatureFile?.signatures ?? []).map(({ keyId }) => ({ keyId })),
          sigstore: signatureFile?.sigstore?.length ?? 0,
        },
      };
      if (options.trust) report.signatures.verification = verification(bytes, signatureText, options.trust);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    });
}

/** The outcome of verifying against `trust`; a trust bundle that cannot be loaded is the user's error, not an outcome. */
function verification(bytes: Uint8Array, signatureText: string | undefined, trust: string): InspectReport['signatures']['verification'] {
  const trustBundle = loadTrustBundle(trust);
  try {
    const { signer } = verifyBundle(bytes, signatureText, trustBundle);
    return { verified: true, ...signer };
  } catch (error) {
    if (!isAlgaError(error)) throw error;
    return { verified: false, code: error.code, message: error.message };
  }
}

function describe(report: InspectReport): string {
  const manifest = report.manifest as { name: string; version: string; publisher: string; capabilities: string[] };
  const signatures = report.signatures;
  const lines = [
    `${manifest.name}@${manifest.version} (publisher ${manifest.publisher})`,
    `hash:         ${report.hash}`,
    `size:         ${report.size} bytes`,
    `capabilities: ${manifest.capabilities.join(', ') || 'none'}`,
    `ui files:     ${report.ui.join(', ') || 'none'}`,
    `imports:      ${report.wit.imports.join('\n              ') || 'none'}`,
    `exports:      ${report.wit.exports.join(', ')}`,
    signatures.file
      ? `signatures:   ${signatures.ed25519.map((s) => s.keyId).join(', ') || 'no ed25519'}${signatures.sigstore ? `, ${signatures.sigstore} sigstore` : ''}${signatures.contentHashMatches ? '' : ' (for ANOTHER hash)'}`
      : 'signatures:   none',
  ];
  const provenance = report.provenance;
  if (provenance) {
    lines.push(
      `source:       ${provenance.sourceHash}${report.reproducibility === 'source-attached' ? ' (source.tar attached: `alga-ext verify-build` rebuilds it)' : ' (not attached)'}`,
      `built with:   ${Object.entries(provenance.toolchain).map(([tool, version]) => `${tool} ${version}`).join(', ')}`,
      `build:        entry ${provenance.settings.entry} on ${provenance.settings.platform}, key ${provenance.buildKey.slice(0, 16)}…`,
    );
  } else {
    lines.push('provenance:   none (packed without an `alga-ext build` record)');
  }
  if (signatures.verification) {
    lines.push(
      signatures.verification.verified
        ? `verified:     yes, by ${signatures.verification.keyId} (publisher ${signatures.verification.publisher})`
        : `verified:     no — ${signatures.verification.code}: ${signatures.verification.message}`,
    );
  }
  lines.push('manifest:', JSON.stringify(report.manifest, null, 2));
  return `${lines.join('\n')}\n`;
}
