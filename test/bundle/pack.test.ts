import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { componentWit } from '@bytecodealliance/jco-transpile/wasm-tools';
import { refusalOf } from '../support/refusal.ts';
import {
  componentExports,
  componentImports,
  contentHashOf,
  packBundle,
  packProjectDir,
  unpackBundle,
} from '../../lib/bundle/index.ts';
import { example, text } from './fixtures.ts';

const scratch = mkdtempSync(join(tmpdir(), 'alga-pack-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const codeOf = (run: () => unknown): string => refusalOf(run).code;

describe('packBundle', () => {
  const kv = example('kv-counter');
  const ui = () =>
    new Map([
      ['index.html', text('<!doctype html><script src="main.js"></script>')],
      ['main.js', text('console.log(1)')],
    ]);

  it('gives identical bytes for the same files, whatever their order', () => {
    const first = packBundle({ manifest: kv.manifest, component: kv.component, ui: ui() });
    const reversed = new Map([...ui()].reverse());
    const second = packBundle({ manifest: kv.manifest, component: kv.component, ui: reversed });
    expect(contentHashOf(second)).toBe(contentHashOf(first));
    expect(contentHashOf(first)).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('writes a plain ustar archive: sorted, mode 0644, owner 0/0, mtime 0', () => {
    const path = join(scratch, 'kv.algabundle');
    writeFileSync(path, packBundle({ manifest: kv.manifest, component: kv.component, ui: ui() }));
    const listing = execFileSync('tar', ['--numeric-owner', '--utc', '-tvf', path], { encoding: 'utf8' }).trim().split('\n');
    expect(listing.map((line) => line.split(/\s+/).at(-1))).toEqual(['component.wasm', 'manifest.json', 'ui/index.html', 'ui/main.js']);
    for (const line of listing) expect(line).toMatch(/^-rw-r--r-- 0\/0 +\d+ 1970-01-01 00:00 /);
  });

  it('fills assets with the hash of each UI file and round-trips through unpackBundle', () => {
    const bytes = packBundle({ manifest: { ...kv.manifest, assets: { 'ui/stale.html': `sha256:${'1'.repeat(64)}` } }, component: kv.component, ui: ui() });
    const bundle = unpackBundle(bytes);
    expect(bundle.manifest.assets).toEqual({
      'ui/index.html': contentHashOf(ui().get('index.html')!),
      'ui/main.js': contentHashOf(ui().get('main.js')!),
    });
    expect(new TextDecoder().decode(bundle.ui.get('main.js'))).toBe('console.log(1)');
    expect(bundle.hash).toBe(contentHashOf(bytes));
    expect(contentHashOf(packBundle({ manifest: bundle.manifest, component: bundle.component, ui: bundle.ui }))).toBe(bundle.hash);
  });

  it('does not change the bytes it is given', () => {
    const bytes = Buffer.from(packBundle({ manifest: kv.manifest, component: kv.component, ui: ui() }));
    const before = contentHashOf(bytes);
    unpackBundle(bytes);
    expect(contentHashOf(bytes)).toBe(before);
  });

  it('refuses a component importing alga:extension/http when the manifest lacks alga.http', () => {
    const egress = example('egress');
    const manifest = { ...egress.manifest, capabilities: ['alga.secrets'] };
    const { code, message } = refusalOf(() => packBundle({ manifest, component: egress.component }));
    expect(code).toBe('E_CAPABILITY_NOT_DECLARED');
    expect(message).toContain('alga:extension/http');
    expect(message).toContain('"alga.http"');
  });

  it('refuses an iframe entry that is not among the UI files', () => {
    expect(codeOf(() => packBundle({ manifest: kv.manifest, component: kv.component }))).toBe('E_MANIFEST_INVALID');
  });

  it('refuses to pack a UI file larger than unpacking allows', () => {
    const hello = example('hello');
    const huge = new Map([['big.bin', new Uint8Array(64 * 1024 * 1024 + 1)]]);
    expect(codeOf(() => packBundle({ manifest: hello.manifest, component: hello.component, ui: huge }))).toBe('E_BUNDLE_ENTRY_TOO_LARGE');
  });

  it('refuses bytes that are not a WebAssembly component', () => {
    const hello = example('hello');
    expect(codeOf(() => packBundle({ manifest: hello.manifest, component: text('not wasm') }))).toBe('E_COMPONENT_INVALID');
  });
});

describe('componentImports / componentExports', () => {
  it.each(['hello', 'kv-counter', 'egress'] as const)('match what wasm-tools reads from the %s component', async (name) => {
    const { component } = example(name);
    const wit = await componentWit(component);
    const witImports = [...wit.matchAll(/^\s*import ([^;]+);/gm)].map((match) => match[1]);
    const witExports = [...wit.matchAll(/^\s*export ([^;]+);/gm)].map((match) => match[1]);
    expect(componentImports(component)).toEqual(witImports);
    expect(componentExports(component)).toEqual(witExports);
    expect(componentExports(component)).toEqual(['alga:extension/handler@0.1.0']);
  });

  it('reports exactly the host interfaces each example uses', () => {
    const alga = (name: 'hello' | 'kv-counter' | 'egress') => componentImports(example(name).component).filter((entry) => entry.startsWith('alga:'));
    expect(alga('kv-counter')).toContain('alga:extension/storage@0.1.0');
    expect(alga('egress')).toEqual(expect.arrayContaining(['alga:extension/http@0.1.0', 'alga:extension/secrets@0.1.0']));
    expect(alga('hello').filter((entry) => !entry.includes('/types@'))).toEqual([]);
  });
});

describe('packProjectDir', () => {
  // A private copy: other test runs may rebuild the examples' dist/ while this file runs.
  const copyOf = (name: 'hello' | 'kv-counter' | 'egress'): string => {
    const project = join(scratch, `copy-${name}`);
    cpSync(example(name).dir, project, { recursive: true });
    return project;
  };

  it.each(['hello', 'kv-counter', 'egress'] as const)('packs the built %s example into a valid bundle', (name) => {
    const project = copyOf(name);
    const packed = packProjectDir(project);
    expect(packed.hash).toBe(contentHashOf(packed.bytes));
    const bundle = unpackBundle(packed.bytes);
    expect(bundle.manifest.name).toBe(`com.example.${name}`);
    expect(packProjectDir(project).hash).toBe(packed.hash);
  });

  it('includes dist/ui files and their hashes', () => {
    const project = copyOf('kv-counter');
    const bundle = unpackBundle(packProjectDir(project).bytes);
    expect(bundle.ui.has('index.html')).toBe(true);
    expect(bundle.manifest.assets?.['ui/index.html']).toBe(contentHashOf(readFileSync(join(project, 'dist', 'ui', 'index.html'))));
  });

  it('refuses a project that was not built', () => {
    const project = join(scratch, 'unbuilt');
    cpSync(example('hello').dir, project, { recursive: true, filter: (source) => !source.includes(`${join('hello', 'dist')}`) });
    expect(codeOf(() => packProjectDir(project))).toBe('E_BUNDLE_MISSING_ENTRY');
  });

  it('refuses a symlink in dist/ui', () => {
    const project = join(scratch, 'linked');
    cpSync(example('kv-counter').dir, project, { recursive: true });
    symlinkSync('/etc/passwd', join(project, 'dist', 'ui', 'passwd'));
    expect(codeOf(() => packProjectDir(project))).toBe('E_BUNDLE_LINK_ENTRY');
  });
});
