import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { capabilityForImport } from '../../lib/bundle/capabilities.ts';
import { algaExt, trustEntryFrom } from '../support/alga-ext-cli.ts';
import { repoRoot } from '../support/projects.ts';

/**
 * The extension developer's path of issue 2, run the way a user runs it: `alga-ext` as a
 * separate process in a folder outside the repo, one real (uncached) build per template.
 */
const work = mkdtempSync(join(tmpdir(), 'alga-developer-path-'));
const buildCache = join(work, 'build-cache');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const buildTimeout = 300_000;

const sha256 = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? filesUnder(join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`]))
    .sort();
}

function valueAfter(label: string, text: string): string {
  const line = text.split('\n').find((candidate) => candidate.startsWith(label));
  expect(line, `a "${label}" line in:\n${text}`).toBeDefined();
  return line!.slice(label.length).trim();
}

it('runs in a folder outside the repository', () => {
  expect(relative(repoRoot, work).startsWith('..')).toBe(true);
});

describe.each(['hello', 'ui'])('alga-ext developer path, --template %s', (template) => {
  const root = join(work, template);
  const project = join(root, 'my-ext');
  const keyPath = join(root, '.alga', 'dev.key');
  const bundleFile = 'my-ext.algabundle';
  const bundlePath = join(project, bundleFile);
  const trustPath = join(project, 'trust.json');
  let manifest: { name: string; version: string; publisher: string; capabilities: string[] };
  let packedHash = '';
  let signer = { keyId: '', publicKey: '' };

  it('init creates the project', async () => {
    mkdirSync(root, { recursive: true });
    const init = await algaExt(root, 'init', 'my-ext', '--template', template);
    expect(init.stderr).toBe('');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain(`Created com.example.my-ext in my-ext (${template} template)`);
    manifest = JSON.parse(readFileSync(join(project, 'manifest.json'), 'utf8'));
    expect(manifest.name).toBe('com.example.my-ext');
    expect(existsSync(join(project, 'src', 'index.ts'))).toBe(true);
    if (template === 'ui') expect(existsSync(join(project, 'ui'))).toBe(true);
  });

  it('the project type-checks (`alga-ext check`, which build runs first)', async () => {
    const check = await algaExt(project, 'check');
    expect(check.stderr).toBe('');
    expect(check.status).toBe(0);
    expect(check.stdout).toMatch(/^No type errors in \d+ files?\.\n$/);
  });

  it(
    'build compiles src/index.ts (and ui/) into dist/, a real build, not a cache hit',
    async () => {
      const build = await algaExt(project, 'build', '--cache-dir', buildCache);
      expect(build.stderr).toBe('');
      expect(build.status).toBe(0);
      expect(build.stdout).toMatch(/^Built dist\/component\.wasm \(\d+\.\d MB\) in \d+\.\d s; host imports: /);
      const component = readFileSync(join(project, 'dist', 'component.wasm'));
      // A component, not a core module: "\0asm", version 0x0d, layer 1.
      expect([...component.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]);
      if (template === 'ui') {
        const uiFiles = filesUnder(join(project, 'dist', 'ui'));
        expect(uiFiles).toContain('index.html');
        expect(build.stdout).toContain(`ui: ${uiFiles.length} files`);
        for (const file of uiFiles.filter((name) => name.endsWith('.js'))) {
          expect(readFileSync(join(project, 'dist', 'ui', file), 'utf8'), `${file} has the iframe SDK bundled in`).not.toMatch(/from\s*["']@alga\//);
        }
      }
    },
    buildTimeout,
  );

  it('run answers one request from the project folder', async () => {
    const path = template === 'ui' ? '/notes' : '/hello';
    const run = await algaExt(project, 'run', '.', '--path', path, '-c', 'greeting_name=Ada', '--data-dir', join(root, 'run-data'));
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(template === 'ui' ? { notes: [] } : { message: 'Hello, Ada', tenant: 'local-tenant' });
  });

  it('pack -o writes the bundle and prints its sha256', async () => {
    const pack = await algaExt(project, 'pack', '-o', bundleFile);
    expect(pack.status).toBe(0);
    packedHash = pack.stdout.trim();
    expect(packedHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(packedHash).toBe(sha256(readFileSync(bundlePath)));
  });

  it('keygen writes a 0600 private key and prints the public key and key id; trust.json is written from its output', async () => {
    const keygen = await algaExt(project, 'keygen', '-o', keyPath);
    expect(keygen.status).toBe(0);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    signer = { publicKey: valueAfter('public key:', keygen.stdout), keyId: valueAfter('key id:', keygen.stdout) };
    expect(Buffer.from(signer.publicKey, 'base64')).toHaveLength(32);
    expect(signer.keyId).toMatch(/^ed25519:[0-9a-f]+$/);
    expect(keygen.stdout).not.toContain(JSON.parse(readFileSync(keyPath, 'utf8')).secretKey);

    const entry = trustEntryFrom(keygen.stdout);
    expect(entry).toEqual({ ...signer, publisher: manifest.publisher });
    writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [entry] }, null, 2));
  });

  it('sign writes my-ext.algabundle.sig.json over the packed hash', async () => {
    const sign = await algaExt(project, 'sign', bundleFile, '--key', keyPath);
    expect(sign.status).toBe(0);
    const signatureFile = JSON.parse(readFileSync(`${bundlePath}.sig.json`, 'utf8'));
    expect(signatureFile).toMatchObject({ version: 1, contentHash: packedHash, signatures: [{ algorithm: 'ed25519', keyId: signer.keyId }] });
  });

  it('verify --trust trust.json exits 0 and names the bundle and signer', async () => {
    const verify = await algaExt(project, 'verify', bundleFile, '--trust', 'trust.json');
    expect(verify.stderr).toBe('');
    expect(verify.status).toBe(0);
    expect(verify.stdout.trim()).toBe(
      `verified ${packedHash} ${manifest.name}@${manifest.version}, signed by ${signer.keyId} (publisher ${manifest.publisher})`,
    );
  });

  it('inspect --json prints manifest, hash, size, signatures and WIT imports/exports', async () => {
    const inspect = await algaExt(project, 'inspect', bundleFile, '--json', '--trust', 'trust.json');
    expect(inspect.status).toBe(0);
    const report = JSON.parse(inspect.stdout);
    expect(report.hash).toBe(packedHash);
    expect(report.size).toBe(statSync(bundlePath).size);
    expect(report.manifest).toMatchObject(manifest);
    expect(report.signatures).toMatchObject({
      file: `${bundleFile}.sig.json`,
      contentHashMatches: true,
      ed25519: [{ keyId: signer.keyId }],
      verification: { verified: true, keyId: signer.keyId, publisher: manifest.publisher },
    });
    expect(report.wit.exports).toContain('alga:extension/handler@0.1.0');
    const neededCapabilities = report.wit.imports.map(capabilityForImport).filter((capability: unknown) => typeof capability === 'string');
    expect(new Set(neededCapabilities)).toEqual(new Set(manifest.capabilities));

    const distUi = template === 'ui' ? filesUnder(join(project, 'dist', 'ui')) : [];
    expect(report.ui).toEqual(distUi);
    const expectedAssets = Object.fromEntries(distUi.map((file) => [`ui/${file}`, sha256(readFileSync(join(project, 'dist', 'ui', file)))]));
    expect(report.manifest.assets ?? {}).toEqual(expectedAssets);
    if (template === 'ui') expect(report.ui).toContain(report.manifest.ui.iframe.entry);
  });

  it('a copy with one byte changed fails verify with E_BUNDLE_HASH_MISMATCH and exit 1', async () => {
    const tampered = join(project, 'tampered.algabundle');
    const bytes = readFileSync(bundlePath);
    bytes[bytes.length >> 1] ^= 0x01;
    writeFileSync(tampered, bytes);
    copyFileSync(`${bundlePath}.sig.json`, `${tampered}.sig.json`);
    const verify = await algaExt(project, 'verify', 'tampered.algabundle', '--trust', 'trust.json');
    expect(verify.status).toBe(1);
    expect(verify.stdout).toBe('');
    expect(verify.stderr).toMatch(/^error E_BUNDLE_HASH_MISMATCH: /);
    expect(verify.stderr).toContain(packedHash);
  });

  it('a TypeScript syntax error fails build naming src/index.ts:<line>, and dist/ is left as it was', async () => {
    const sourcePath = join(project, 'src', 'index.ts');
    const lines = readFileSync(sourcePath, 'utf8').split('\n');
    lines.splice(1, 0, 'const broken = ;');
    writeFileSync(sourcePath, lines.join('\n'));
    const componentBefore = readFileSync(join(project, 'dist', 'component.wasm'));

    const build = await algaExt(project, 'build', '--cache-dir', buildCache);
    expect(build.status).toBe(1);
    expect(build.stderr).toMatch(/^error E_BUILD_SOURCE_ERROR: .*src\/index\.ts:2: /);
    expect(readFileSync(join(project, 'dist', 'component.wasm')).equals(componentBefore)).toBe(true);
  });
});
