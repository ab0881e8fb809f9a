import { existsSync, rmSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import semver from 'semver';
import { packBundle, packProjectDir, readOptionalText, sourceArchiveOf, unpackBundle, writeUserFile, type PackedBundle } from '../../lib/bundle/index.ts';
import { projectSourceFiles } from '../../lib/build/source-files.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { parseSignatureFile } from '../../lib/signing/index.ts';
import { projectDirOf, withProjectDir } from './project-dir.ts';

interface PackOptions {
  output?: string;
  dir?: string;
  prerelease?: string | true;
  withSource?: boolean;
}

export function register(program: Command): void {
  withProjectDir(program.command('pack').description('Pack manifest.json, dist/component.wasm and dist/ui/ into a content-addressed bundle; prints sha256:<hex>'))
    .option('-o, --output <file>', 'where to write the bundle (default dist/<name>-<version>.algabundle)')
    .option('--prerelease [tag]', 'pack as a new prerelease of the manifest version, <version>-<tag>.<UTC time> (tag default "dev"), so each build publishes without a version conflict; manifest.json is not changed')
    .option('--with-source', 'also pack the project\'s source files as source.tar, so anyone can rebuild and check the component (`alga-ext verify-build`)')
    .action((dir: string | undefined, options: PackOptions) => {
      const projectDir = resolve(projectDirOf(dir, options.dir));
      let packed = packProjectDir(projectDir, options.withSource ? sourceArchiveOf(projectSourceFiles(projectDir)) : undefined);
      if (options.prerelease !== undefined) {
        const version = prereleaseVersion(packed.manifest.version, options.prerelease === true ? 'dev' : options.prerelease, new Date());
        packed = repack(packed, version);
      }
      const output = resolve(options.output ?? join(projectDir, 'dist', `${packed.manifest.name}-${packed.manifest.version}.algabundle`));
      writeUserFile(output, packed.bytes);
      const where = relative(process.cwd(), output) || output;
      process.stderr.write(`Packed ${where} (${packed.manifest.name}@${packed.manifest.version}, ${packed.bytes.length} bytes)\n`);
      dropStaleSignatures(`${output}.sig.json`, packed.hash);
      if (!packed.manifest.api?.endpoints?.length) {
        process.stderr.write(
          'warning: manifest.json declares no api.endpoints, so the host gateway answers 404 for every path of this extension; ' +
            'declare the routes your handler serves, e.g. "api": {"endpoints": [{"method": "GET", "path": "/hello"}]}\n',
        );
      }
      process.stdout.write(`${packed.hash}\n`);
    });
}

/** `1.2.0` → `1.2.0-dev.20250102030405`: above every earlier build of the same tag, below the release `1.2.0`. */
export function prereleaseVersion(version: string, tag: string, at: Date): string {
  if (!/^[0-9A-Za-z-]+$/.test(tag) || /^\d+$/.test(tag)) throw new AlgaError('E_CLI_USAGE', `--prerelease "${tag}" must be letters, digits and "-", not a number alone (e.g. dev, rc).`);
  const base = semver.parse(version);
  if (!base) throw new AlgaError('E_MANIFEST_INVALID', `/version: "${version}" is not a semantic version.`);
  const stamp = at.toISOString().replace(/[-:TZ]/g, '').slice(0, 14);
  return `${base.major}.${base.minor}.${base.patch}-${tag}.${stamp}`;
}

function repack(packed: PackedBundle, version: string): PackedBundle {
  const { component, ui, provenance, sourceArchive } = unpackBundle(packed.bytes);
  const bytes = packBundle({ manifest: { ...packed.manifest, version }, component, ui, provenance, sourceArchive });
  const unpacked = unpackBundle(bytes);
  return { bytes, hash: unpacked.hash, manifest: unpacked.manifest };
}

/** A signature file beside the output that signs other bytes is for the previous build: it goes, so `sign` starts afresh. */
function dropStaleSignatures(signaturePath: string, hash: string): void {
  const text = readOptionalText(signaturePath);
  if (text === undefined) return;
  let signed: string | undefined;
  try {
    signed = parseSignatureFile(text).contentHash;
  } catch {
    signed = undefined;
  }
  if (signed === hash) return;
  if (existsSync(signaturePath)) rmSync(signaturePath);
  process.stderr.write(`Removed ${relative(process.cwd(), signaturePath) || signaturePath}: it signed ${signed ?? 'something else'}, not this build; sign the new bundle.\n`);
}
