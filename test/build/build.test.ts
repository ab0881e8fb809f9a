import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildExtension } from '../../lib/build/index.ts';
import { buildUiFiles } from '../../lib/build/ui.ts';
import { initProject } from '../../lib/build/init.ts';
import { packProjectDir, parseManifest } from '../../lib/bundle/index.ts';
import { isAlgaError } from '../../lib/errors/index.ts';
import { sharedBuildCache } from '../support/projects.ts';
import { loadGuest, memoryStorage } from './guest-harness.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const scratch = mkdtempSync(join(tmpdir(), 'alga-build-test-'));
/** A cold componentize-js run takes ~10 s alone and much longer on a loaded machine. */
const componentizeTimeout = 240_000;
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function buildError(run: () => Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await run();
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('expected the build to fail');
}

/** A project whose dist already holds a previous build (files with known bytes). */
function projectWithPreviousDist(name: string, source: string, ui?: Record<string, string>): string {
  const projectDir = join(scratch, name);
  mkdirSync(join(projectDir, 'src'), { recursive: true });
  writeFileSync(join(projectDir, 'manifest.json'), JSON.stringify({ name: `com.example.${name}`, publisher: 'example', version: '1.0.0', runtime: 'wasm-js@1', capabilities: [] }));
  writeFileSync(join(projectDir, 'src', 'index.ts'), source);
  for (const [path, text] of Object.entries(ui ?? {})) {
    mkdirSync(join(projectDir, 'ui', path, '..'), { recursive: true });
    writeFileSync(join(projectDir, 'ui', path), text);
  }
  mkdirSync(join(projectDir, 'dist', 'ui'), { recursive: true });
  writeFileSync(join(projectDir, 'dist', 'component.wasm'), 'previous component');
  writeFileSync(join(projectDir, 'dist', 'ui', 'index.html'), 'previous ui');
  return projectDir;
}

function expectPreviousDistKept(projectDir: string): void {
  expect(readFileSync(join(projectDir, 'dist', 'component.wasm'), 'utf8')).toBe('previous component');
  expect(readFileSync(join(projectDir, 'dist', 'ui', 'index.html'), 'utf8')).toBe('previous ui');
}

describe('alga-ext build: the hello template', () => {
  const projectDir = join(scratch, 'hello-ext');

  it('builds an init-ed project into a component that answers, and an unchanged rebuild is a cache hit', async () => {
    initProject({ targetDir: projectDir, template: 'hello' });
    const stages: string[] = [];
    const first = await buildExtension({ projectDir, cacheDir: sharedBuildCache, onProgress: (stage) => stages.push(stage) });
    expect(stages[0]).toBe('bundle');
    expect(stages).toContain(first.cached ? 'cache-hit' : 'componentize');
    expect(stages.at(-1)).toBe('done');
    expect(first.usedInterfaces).toEqual([]);
    const component = readFileSync(join(projectDir, 'dist', 'component.wasm'));
    expect(component.length).toBe(first.bytes);

    const guest = await loadGuest(first.componentPath, {});
    try {
      const response = guest.handle({ method: 'GET', path: '/hello' }, { greeting_name: 'Grace' });
      expect(response.status).toBe(200);
      expect(JSON.parse(decoder.decode(response.body))).toEqual({ message: 'Hello, Grace', tenant: 'tenant-1' });
    } finally {
      guest.close();
    }

    rmSync(join(projectDir, 'dist'), { recursive: true });
    const second = await buildExtension({ projectDir, cacheDir: sharedBuildCache });
    expect(second.cached).toBe(true);
    expect(second.sourceHash).toBe(first.sourceHash);
    expect(readFileSync(second.componentPath).equals(component)).toBe(true);
  }, componentizeTimeout);

  it('gives the same source hash when the same project is built from another working directory', async () => {
    const previous = process.cwd();
    process.chdir(tmpdir());
    try {
      const again = await buildExtension({ projectDir, cacheDir: sharedBuildCache });
      expect(again.cached).toBe(true);
    } finally {
      process.chdir(previous);
    }
  });
});

describe('alga-ext build: the ui template', () => {
  it('bundles ui/main.ts for the browser, copies the HTML, and packs', async () => {
    const projectDir = join(scratch, 'notes-ext');
    initProject({ targetDir: projectDir, template: 'ui' });
    const result = await buildExtension({ projectDir, cacheDir: sharedBuildCache });
    expect(result.uiFiles).toEqual(['index.html', 'main.js']);
    expect(result.usedInterfaces).toEqual(['storage']);
    const html = readFileSync(join(projectDir, 'dist', 'ui', 'index.html'), 'utf8');
    expect(html).toContain('<title>Notes Ext</title>');
    expect(html).toContain('src="main.js"');
    const script = readFileSync(join(projectDir, 'dist', 'ui', 'main.js'), 'utf8');
    expect(script).not.toContain('@alga/extension-iframe-sdk');
    expect(existsSync(join(projectDir, 'dist', 'ui', 'main.ts'))).toBe(false);
    expect(packProjectDir(projectDir).manifest.assets).toHaveProperty(['ui/main.js']);

    const store = new Map<string, Uint8Array>();
    const guest = await loadGuest(result.componentPath, {
      'alga:extension/storage': memoryStorage(store),
    });
    try {
      expect(guest.handle({ method: 'POST', path: '/notes', body: encoder.encode('{"text":" first "}') }).status).toBe(201);
      const listed = JSON.parse(decoder.decode(guest.handle({ method: 'GET', path: '/notes' }).body));
      expect(listed.notes.map((note: { text: string }) => note.text)).toEqual(['first']);
      expect(guest.handle({ method: 'POST', path: '/notes', body: encoder.encode('{}') }).status).toBe(400);
    } finally {
      guest.close();
    }
  }, componentizeTimeout);
});

describe('alga-ext build: errors', () => {
  it('a TypeScript syntax error is reported as file:line: message, and the previous dist stays', async () => {
    const projectDir = projectWithPreviousDist('broken-src', "import { json } from '@alga/extension-runtime';\n\nexport const handler = {\n  handle() { return json({ ok: true }; },\n};\n");
    const error = await buildError(() => buildExtension({ projectDir, cacheDir: join(scratch, 'cache') }));
    expect(isAlgaError(error, 'E_BUILD_SOURCE_ERROR')).toBe(true);
    expect(error.message).toMatch(/^The extension source does not compile\. src\/index\.ts:4: Expected "\)" but found ";"/);
    expectPreviousDistKept(projectDir);
    expect(existsSync(join(scratch, 'cache'))).toBe(false);
  });

  it('an error in an imported module names that module', async () => {
    const projectDir = projectWithPreviousDist('broken-import', "export { handler } from './handler.ts';\n");
    writeFileSync(join(projectDir, 'src', 'handler.ts'), 'export const handler = {\n  handle( {\n};\n');
    const error = await buildError(() => buildExtension({ projectDir }));
    expect(error.message).toMatch(/ src\/handler\.ts:3: /);
    expectPreviousDistKept(projectDir);
  });

  it('a syntax error in a UI script names ui/<file>:line and writes nothing', async () => {
    const projectDir = projectWithPreviousDist('broken-ui', "export const handler = { handle() { return { status: 200, headers: [], body: new Uint8Array() }; } };\n", {
      'index.html': '<script src="main.js"></script>',
      'main.ts': "import { callApi } from '@alga/extension-iframe-sdk';\nconst x = ;\n",
    });
    const error = await buildError(() => buildExtension({ projectDir, cacheDir: join(scratch, 'cache-ui') }));
    expect(isAlgaError(error, 'E_BUILD_SOURCE_ERROR')).toBe(true);
    expect(error.message).toContain(' ui/main.ts:2: Unexpected ";"');
    expectPreviousDistKept(projectDir);
  });

  it('refuses a project without manifest.json or without its entry module', async () => {
    const empty = join(scratch, 'empty');
    mkdirSync(empty);
    expect((await buildError(() => buildExtension({ projectDir: empty }))).code).toBe('E_BUILD_NO_PROJECT');
    writeFileSync(join(empty, 'manifest.json'), '{}');
    expect((await buildError(() => buildExtension({ projectDir: empty }))).code).toBe('E_BUILD_NO_ENTRY');
  });
});

describe('UI files', () => {
  it('copies assets as they are, bundles each top-level ui/*.ts, and leaves imported modules out', async () => {
    const projectDir = join(scratch, 'ui-files');
    mkdirSync(join(projectDir, 'ui', 'lib'), { recursive: true });
    mkdirSync(join(projectDir, 'ui', 'styles'), { recursive: true });
    writeFileSync(join(projectDir, 'ui', 'index.html'), '<p>hi</p>');
    writeFileSync(join(projectDir, 'ui', 'styles', 'app.css'), 'p { color: red }');
    writeFileSync(join(projectDir, 'ui', 'lib', 'greet.ts'), 'export const greet = (name: string): string => `hi ${name}`;\n');
    writeFileSync(join(projectDir, 'ui', 'main.ts'), "import { greet } from './lib/greet.ts';\ndocument.body.append(greet('you'));\n");
    writeFileSync(join(projectDir, 'ui', 'types.d.ts'), 'declare const x: number;\n');
    const files = (await buildUiFiles(projectDir))!;
    expect([...files.keys()]).toEqual(['index.html', 'main.js', 'styles/app.css']);
    expect(decoder.decode(files.get('styles/app.css'))).toBe('p { color: red }');
    expect(decoder.decode(files.get('main.js'))).toContain('hi ${name}');
  });

  it('refuses a symbolic link in ui/', async () => {
    const projectDir = join(scratch, 'ui-link');
    mkdirSync(join(projectDir, 'ui'), { recursive: true });
    writeFileSync(join(scratch, 'outside.txt'), 'secret');
    symlinkSync(join(scratch, 'outside.txt'), join(projectDir, 'ui', 'leak.txt'));
    const error = await buildError(() => buildUiFiles(projectDir));
    expect(error.code).toBe('E_BUILD_UI_LINK');
    expect(error.message).toContain('ui/leak.txt');
  });

  it('has no UI when the project has no ui/ folder', async () => {
    const projectDir = join(scratch, 'no-ui');
    mkdirSync(projectDir);
    expect(await buildUiFiles(projectDir)).toBeUndefined();
  });
});

describe('alga-ext init', () => {
  it('refuses a non-empty target and leaves it as it was', () => {
    const target = join(scratch, 'taken');
    mkdirSync(target);
    writeFileSync(join(target, 'notes.txt'), 'mine');
    expect(() => initProject({ targetDir: target, template: 'hello' })).toThrow(expect.objectContaining({ code: 'E_INIT_TARGET_EXISTS' }));
    expect(readFileSync(join(target, 'notes.txt'), 'utf8')).toBe('mine');
    expect(statSync(target).isDirectory()).toBe(true);
  });

  it('refuses an unknown template and a name that cannot be an extension id', () => {
    expect(() => initProject({ targetDir: join(scratch, 'x1'), template: 'react' })).toThrow(expect.objectContaining({ code: 'E_INIT_UNKNOWN_TEMPLATE' }));
    expect(() => initProject({ targetDir: join(scratch, 'My Ext'), template: 'hello' })).toThrow(expect.objectContaining({ code: 'E_INIT_INVALID_NAME' }));
    expect(existsSync(join(scratch, 'x1'))).toBe(false);
  });

  it('writes a manifest that validates, a package.json naming the SDK package, a tsconfig pointing into it and a .gitignore', () => {
    const result = initProject({ targetDir: join(scratch, 'fresh-ext'), template: 'hello', publisher: 'acme' });
    expect(result.id).toBe('com.acme.fresh-ext');
    expect(result.files).toEqual(['.gitignore', 'README.md', 'manifest.json', 'package.json', 'src/index.ts', 'tsconfig.json']);
    expect(result.sdkInstalled).toBe(false);
    const tsconfig = JSON.parse(readFileSync(join(result.projectDir, 'tsconfig.json'), 'utf8'));
    expect(tsconfig.compilerOptions.paths['@alga/extension-runtime']).toEqual(['./node_modules/alga-extension-host/sdk/runtime/index.ts']);
    const packageJson = JSON.parse(readFileSync(join(result.projectDir, 'package.json'), 'utf8'));
    expect(packageJson).toMatchObject({ name: 'fresh-ext', private: true, scripts: { build: 'alga-ext build', check: 'alga-ext check', dev: 'alga-ext dev' } });
    expect(packageJson.devDependencies['alga-extension-host']).toMatch(/^\^\d+\.\d+\.\d+$/);
    expect(readFileSync(join(result.projectDir, 'README.md'), 'utf8')).not.toContain('{{');
    const manifest = parseManifest(readFileSync(join(result.projectDir, 'manifest.json')));
    expect(manifest).toMatchObject({ name: 'com.acme.fresh-ext', publisher: 'acme', displayName: 'Fresh Ext' });
  });

  it('fills a folder that holds only what npm init and npm install left, keeping its package.json', () => {
    const target = join(scratch, 'npm-first');
    mkdirSync(join(target, 'node_modules'), { recursive: true });
    writeFileSync(join(target, 'package.json'), JSON.stringify({ name: 'npm-first', version: '2.0.0', scripts: { build: 'my own build' }, devDependencies: { 'alga-extension-host': 'file:../alga.tgz' } }));
    const result = initProject({ targetDir: target, template: 'hello', sdkSpec: '^9.9.9' });
    const packageJson = JSON.parse(readFileSync(join(target, 'package.json'), 'utf8'));
    expect(packageJson).toMatchObject({ name: 'npm-first', version: '2.0.0', scripts: { build: 'my own build', check: 'alga-ext check' }, devDependencies: { 'alga-extension-host': 'file:../alga.tgz' } });
    expect(result.files).toContain('src/index.ts');
  });
});
