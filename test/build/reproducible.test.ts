import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildExtension } from '../../lib/build/index.ts';
import { verifyBuild } from '../../lib/build/verify-build.ts';
import { projectSourceFiles } from '../../lib/build/source-files.ts';
import { contentHashOf, packBundle, packProjectDir, parseProvenance, sourceArchiveOf, sourceHashOf, unpackBundle } from '../../lib/bundle/index.ts';
import { algaExt } from '../support/alga-ext-cli.ts';
import { exampleDir } from '../support/projects.ts';

// Four componentize-js runs in all (~10 s each on an idle machine): the build, the rebuild
// verify-build does from the bundle's source.tar, the rebuild of a changed source, and publish --verify-build's.
const scratch = mkdtempSync(join(tmpdir(), 'alga-reproducible-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function copyOfHello(name: string): string {
  const target = join(scratch, name, 'hello');
  cpSync(exampleDir('hello'), target, { recursive: true, filter: (path) => !/[\\/](dist|\.alga-cache)$/.test(path) });
  return target;
}

describe('reproducible builds', () => {
  const projectDir = copyOfHello('publisher-machine');
  const bundlePath = join(scratch, 'hello.algabundle');
  let componentHash: string;

  it('the bundle records what built it, and verify-build rebuilds byte-identical bytes in another folder with an empty cache', async () => {
    const built = await buildExtension({ projectDir, cacheDir: join(scratch, 'publisher-cache') });
    expect(built.cached).toBe(false);
    const packed = packProjectDir(projectDir, sourceArchiveOf(projectSourceFiles(projectDir)));
    writeFileSync(bundlePath, packed.bytes);
    const bundle = unpackBundle(packed.bytes);
    componentHash = contentHashOf(bundle.component);
    expect(bundle.provenance?.componentHash).toBe(componentHash);
    expect(bundle.provenance?.toolchain['componentize-js']).toMatch(/^\d+\.\d+\.\d+/);
    expect(bundle.provenance?.settings.entry).toBe('src/index.ts');

    // The rebuild runs in a fresh temp folder (another path than projectDir) with a fresh cache.
    const result = await verifyBuild(packed.bytes);
    expect(result.source).toBe('bundle');
    expect(result.rebuilt.componentHash).toBe(componentHash);
    expect(result.differences).toEqual([]);
    expect(result.reproducible).toBe(true);
  }, 300_000);

  it('one changed byte of source gives another source hash and another component, and verify-build exits 1 saying so', async () => {
    const changed = copyOfHello('changed');
    const source = join(changed, 'src', 'index.ts');
    const text = readFileSync(source, 'utf8');
    const at = text.indexOf('Hello');
    expect(at).toBeGreaterThan(0);
    writeFileSync(source, `${text.slice(0, at)}J${text.slice(at + 1)}`);

    const verified = await algaExt(scratch, 'verify-build', bundlePath, changed, '--json');
    expect(verified.status).toBe(1);
    expect(verified.stderr).toMatch(/^error E_BUILD_NOT_REPRODUCIBLE: .*The source differs from the one it was built from/m);
    const result = JSON.parse(verified.stdout);
    expect(result.reproducible).toBe(false);
    expect(result.bundleComponentHash).toBe(componentHash);
    expect(result.rebuilt.componentHash).not.toBe(componentHash);
    expect(result.rebuilt.sourceHash).not.toBe(result.recorded.sourceHash);
    expect(result.toolchainDifferences).toEqual([]);
  }, 300_000);

  it('pack --with-source attaches the source the build recorded, and inspect shows where the component came from', async () => {
    const output = join(scratch, 'hello-with-source.algabundle');
    const packed = await algaExt(scratch, 'pack', '--dir', exampleDir('hello'), '--with-source', '-o', output);
    expect(packed.status).toBe(0);
    const inspected = await algaExt(scratch, 'inspect', output);
    expect(inspected.status).toBe(0);
    expect(inspected.stdout).toMatch(/^source: +sha256:[0-9a-f]{64} \(source\.tar attached/m);
    expect(inspected.stdout).toMatch(/^built with: +.*componentize-js \d+\.\d+\.\d+/m);
    const json = JSON.parse((await algaExt(scratch, 'inspect', output, '--json')).stdout);
    expect(json.reproducibility).toBe('source-attached');
    expect(json.provenance.componentHash).toBe(contentHashOf(readFileSync(join(exampleDir('hello'), 'dist', 'component.wasm'))));
  });

  it('publish --verify-build refuses, before any upload, a bundle whose source does not rebuild its component', async () => {
    // The egress example's component, claimed to be built from hello's source: the provenance is well-formed, the claim is false.
    const kv = exampleDir('egress');
    const component = readFileSync(join(kv, 'dist', 'component.wasm'));
    const helloSource = projectSourceFiles(exampleDir('hello'));
    const claimed = { ...parseProvenance(readFileSync(join(kv, 'dist', 'provenance.json'))), sourceHash: sourceHashOf(helloSource) };
    const bundle = join(scratch, 'false-claim.algabundle');
    writeFileSync(bundle, packBundle({ manifest: JSON.parse(readFileSync(join(kv, 'manifest.json'), 'utf8')), component, provenance: claimed, sourceArchive: sourceArchiveOf(helloSource) }));
    writeFileSync(`${bundle}.sig.json`, '{}');
    // Nothing listens on port 9: reaching the upload would fail with a connection error instead.
    const published = await algaExt(scratch, 'publish', bundle, '--registry', 'http://127.0.0.1:9', '--token', 'unused', '--verify-build');
    expect(published.status).toBe(1);
    expect(published.stderr).toMatch(/^error E_BUILD_NOT_REPRODUCIBLE: .*The rebuilt component\.wasm is sha256:[0-9a-f]{64}, the bundle's is sha256:[0-9a-f]{64}\..* Not published\.$/m);
  }, 300_000);

  it('verify-build refuses a bundle without provenance with its own code', async () => {
    const dir = exampleDir('hello');
    const bare = join(scratch, 'bare.algabundle');
    writeFileSync(bare, packBundle({ manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')), component: readFileSync(join(dir, 'dist', 'component.wasm')) }));
    const refused = await algaExt(scratch, 'verify-build', bare);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/^error E_VERIFY_BUILD_NO_PROVENANCE: /);
  });
});
