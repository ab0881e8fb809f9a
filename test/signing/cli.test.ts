import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algaExt, trustEntryFrom } from '../support/alga-ext-cli.ts';
import { exampleDir } from '../support/projects.ts';
import { createPrivateSigstore } from './private-sigstore.ts';

const work = mkdtempSync(join(tmpdir(), 'alga-ext-cli-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const ext = (...args: string[]) => algaExt(work, ...args);

/** A private copy of an example project whose manifest.json has `changes` applied. */
function exampleCopyWith(example: string, folder: string, changes: Record<string, unknown>): string {
  const project = join(work, folder);
  cpSync(exampleDir(example), project, { recursive: true });
  const manifestPath = join(project, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(readFileSync(manifestPath, 'utf8')), ...changes }));
  return project;
}

const kvProject = join(work, 'kv-counter');
const bundlePath = join(work, 'kv.algabundle');
const keyPath = join(work, 'keys', 'dev.key');
const trustPath = join(work, 'trust.json');
let packedHash = '';
let keygenOut = '';

describe('alga-ext pack → keygen → sign → verify → inspect', () => {
  beforeAll(async () => {
    // A private copy: other test runs may rebuild examples/*/dist while this file runs.
    cpSync(exampleDir('kv-counter'), kvProject, { recursive: true });
    const pack = await ext('pack', '-d', kvProject, '-o', bundlePath);
    expect(pack.stderr).not.toContain('error');
    packedHash = pack.stdout.trim();
    keygenOut = (await ext('keygen', '-o', keyPath, '--publisher', 'example')).stdout;
    writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [trustEntryFrom(keygenOut)] }));
  });

  it('pack prints the sha256 of the file it wrote, and packing again gives the same hash', async () => {
    expect(packedHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await ext('pack', '-d', kvProject, '-o', join(work, 'again.algabundle'));
    expect(again.stdout.trim()).toBe(packedHash);
    expect(readFileSync(join(work, 'again.algabundle')).equals(readFileSync(bundlePath))).toBe(true);
  });

  it('takes the project folder as its argument too, as run and dev do; two different folders are refused', async () => {
    const positional = await ext('pack', kvProject, '-o', join(work, 'positional.algabundle'));
    expect([positional.status, positional.stdout.trim()]).toEqual([0, packedHash]);
    const checked = await ext('check', kvProject);
    expect([checked.status, checked.stdout]).toEqual([0, 'No type errors in 2 files.\n']);
    const both = await ext('pack', kvProject, '--dir', work);
    expect(both.status).toBe(1);
    expect(both.stderr).toContain(`error E_CLI_USAGE: The command line is not valid. Two project folders given: "${kvProject}" and --dir "${work}"; give one.`);
  });

  it('keygen writes a 0600 private key, prints the public key and key id, and refuses to overwrite', async () => {
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = JSON.parse(readFileSync(keyPath, 'utf8'));
    expect(keygenOut).toContain(`public key: ${key.publicKey}`);
    expect(keygenOut).toContain(`key id:     ${key.keyId}`);
    const before = readFileSync(keyPath, 'utf8');
    const again = await ext('keygen', '-o', keyPath);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^error E_KEY_EXISTS: /);
    expect(readFileSync(keyPath, 'utf8')).toBe(before);
  });

  it('sign writes BUNDLE.sig.json, verify exits 0, and a second key is appended', async () => {
    const sign = await ext('sign', bundlePath, '--key', keyPath);
    expect(sign.status).toBe(0);
    const file = JSON.parse(readFileSync(`${bundlePath}.sig.json`, 'utf8'));
    expect(file.contentHash).toBe(packedHash);
    const verify = await ext('verify', bundlePath, '--trust', trustPath);
    expect(verify.status).toBe(0);
    expect(verify.stdout).toContain(`verified ${packedHash} com.example.kv-counter@1.0.0`);

    const secondKey = join(work, 'keys', 'second.key');
    await ext('keygen', '-o', secondKey);
    expect((await ext('sign', bundlePath, '--key', secondKey)).status).toBe(0);
    expect(JSON.parse(readFileSync(`${bundlePath}.sig.json`, 'utf8')).signatures).toHaveLength(2);
    expect((await ext('verify', bundlePath, '--trust', trustPath)).status).toBe(0);
  });

  it('inspect --json shows manifest, hash, size, signatures and WIT imports/exports', async () => {
    const inspect = await ext('inspect', bundlePath, '--json', '--trust', trustPath);
    expect(inspect.status).toBe(0);
    const report = JSON.parse(inspect.stdout);
    expect(report.hash).toBe(packedHash);
    expect(report.size).toBe(statSync(bundlePath).size);
    expect(report.manifest.name).toBe('com.example.kv-counter');
    expect(report.wit.imports).toContain('alga:extension/storage@0.1.0');
    expect(report.wit.exports).toEqual(['alga:extension/handler@0.1.0']);
    expect(report.signatures.ed25519).toHaveLength(2);
    expect(report.signatures.verification).toMatchObject({ verified: true, publisher: 'example' });
  });

  // A tampered byte (E_BUNDLE_HASH_MISMATCH) is checked on the whole developer path: test/e2e/developer-path.test.ts.
  it('verify exits 1 with `error CODE: sentence` for a key not in the trust bundle', async () => {
    const otherTrust = join(work, 'other-trust.json');
    const stranger = join(work, 'keys', 'stranger.key');
    const strangerEntry = trustEntryFrom((await ext('keygen', '-o', stranger, '--publisher', 'example')).stdout);
    writeFileSync(otherTrust, JSON.stringify({ version: 1, keys: [strangerEntry] }));
    const untrusted = await ext('verify', bundlePath, '--trust', otherTrust);
    expect(untrusted.status).toBe(1);
    expect(untrusted.stderr).toMatch(/^error E_SIGNATURE_UNTRUSTED_KEY: /);
  });

  it('verify refuses an unsigned bundle', async () => {
    const unsigned = join(work, 'unsigned.algabundle');
    writeFileSync(unsigned, readFileSync(bundlePath));
    const result = await ext('verify', unsigned, '--trust', trustPath);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error E_SIGNATURE_MISSING: /);
  });

  it('pack refuses a component importing alga:extension/http when the manifest lacks alga.http, writing nothing', async () => {
    const project = exampleCopyWith('egress', 'egress-undeclared', { capabilities: ['alga.secrets'] });
    const output = join(work, 'egress.algabundle');
    const result = await ext('pack', '-d', project, '-o', output);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error E_CAPABILITY_NOT_DECLARED: .*alga:extension\/http.*"alga\.http"/);
    expect(existsSync(output)).toBe(false);
  });

  it('pack names the field of an invalid manifest', async () => {
    const project = exampleCopyWith('hello', 'bad-version', { version: '1.x' });
    const result = await ext('pack', '-d', project);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('error E_MANIFEST_INVALID: The manifest is invalid. /version: must be a semver');
  });
});

describe('alga-ext sign --sigstore (attach) → verify --trust with a sigstore section', () => {
  it('verifies a bundle whose only signature is an attached Sigstore bundle by a trusted key', async () => {
    const sigstore = createPrivateSigstore();
    const bundle = join(work, 'sigstore-only.algabundle');
    writeFileSync(bundle, readFileSync(bundlePath));
    const sigstoreBundlePath = join(work, 'sigstore-only.sigstore.json');
    writeFileSync(sigstoreBundlePath, JSON.stringify(sigstore.bundleFor(readFileSync(bundle))));
    writeFileSync(join(work, 'private-root.json'), JSON.stringify(sigstore.trustedRoot));
    const trust = join(work, 'sigstore-trust.json');
    writeFileSync(trust, JSON.stringify({ version: 1, keys: [], sigstore: { trustedRoot: 'private-root.json', keys: [{ publicKey: sigstore.signerPublicKeyPem, publisher: 'example' }] } }));

    expect((await ext('sign', bundle, '--sigstore', sigstoreBundlePath)).status).toBe(0);
    expect(JSON.parse(readFileSync(`${bundle}.sig.json`, 'utf8')).sigstore).toHaveLength(1);
    const verify = await ext('verify', bundle, '--trust', trust);
    expect(verify.stderr).toBe('');
    expect(verify.stdout).toContain('signed by sigstore:key (publisher example)');

    const wrongArtifact = join(work, 'other.sigstore.json');
    writeFileSync(wrongArtifact, JSON.stringify(sigstore.bundleFor(new TextEncoder().encode('something else'))));
    const attach = await ext('sign', bundle, '--sigstore', wrongArtifact);
    expect(attach.status).toBe(1);
    expect(attach.stderr).toMatch(/^error E_SIGSTORE_INVALID: .*not sha256:/);
  });
});

describe('alga-ext verify --sigstore', () => {
  const cases = '/work/shared/fixtures/sigstore-conformance/bundle-verify';
  const identity = 'https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main';
  const issuer = 'https://token.actions.githubusercontent.com';

  it('exits 0 for a valid bundle by identity, offline against the public-good root', async () => {
    const result = await ext('verify', join(cases, 'a.txt'), '--sigstore', join(cases, 'happy-path-v0.3', 'bundle.sigstore.json'), '--identity', identity, '--issuer', issuer);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('exits 0 for a managed key with a custom trusted root', async () => {
    const dir = join(cases, 'managed-key-and-trusted-root');
    const result = await ext('verify', join(cases, 'a.txt'), '--sigstore', join(dir, 'bundle.sigstore.json'), '--key', join(dir, 'key.pub'), '--trusted-root', join(dir, 'trusted_root.json'));
    expect(result.status).toBe(0);
  });

  it('exits 1 with a code for a refused case', async () => {
    const result = await ext('verify', join(cases, 'a.txt'), '--sigstore', join(cases, 'signature-mismatch_fail', 'bundle.sigstore.json'), '--identity', identity, '--issuer', issuer);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error E_SIGSTORE_INVALID: /);
  });
});
