import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { repoRoot, sharedBuildCache } from '../support/projects.ts';

const run = promisify(execFile);
const cli = join(repoRoot, 'bin', 'alga-ext.js');
const scratch = mkdtempSync(join(tmpdir(), 'alga-cli-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function algaExt(args: string[], cwd = scratch): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [cli, ...args], { cwd });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('alga-ext init and build on the command line', () => {
  it('init creates a project that build turns into dist/component.wasm, quietly when not on a terminal', async () => {
    const created = await algaExt(['init', 'hello-ext', '--template', 'hello']);
    expect(created.code).toBe(0);
    expect(created.stdout).toContain('Created com.example.hello-ext in hello-ext (hello template)');

    const built = await algaExt(['build', '--dir', 'hello-ext', '--cache-dir', sharedBuildCache]);
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/^Built hello-ext\/dist\/component\.wasm \(\d+\.\d MB(, cached)?\) in \d+\.\d s; host imports: none\n$/);
    expect(built.stderr).toBe('');
    expect(existsSync(join(scratch, 'hello-ext', 'dist', 'component.wasm'))).toBe(true);
  }, 240_000);

  it('a syntax error exits 1 with `error E_BUILD_SOURCE_ERROR: … file:line: message`', async () => {
    await algaExt(['init', 'broken-ext']);
    const source = join(scratch, 'broken-ext', 'src', 'index.ts');
    writeFileSync(source, readFileSync(source, 'utf8').replace("json({", "json({{"));
    const built = await algaExt(['build'], join(scratch, 'broken-ext'));
    expect(built.code).toBe(1);
    expect(built.stderr).toMatch(/^error E_BUILD_SOURCE_ERROR: The extension source does not compile\. src\/index\.ts:4: /);
    expect(existsSync(join(scratch, 'broken-ext', 'dist'))).toBe(false);
  });

  it('a module that throws while it initialises exits 1 with E_BUILD_COMPONENTIZE_FAILED and the guest\'s own message, writing no dist/', async () => {
    await algaExt(['init', 'throws-ext']);
    const source = join(scratch, 'throws-ext', 'src', 'index.ts');
    writeFileSync(source, `throw new Error('the settings table is missing');\n${readFileSync(source, 'utf8')}`);
    const built = await algaExt(['build', '--cache-dir', join(scratch, 'throws-cache')], join(scratch, 'throws-ext'));
    expect(built.code).toBe(1);
    expect(built.stderr).toMatch(/^error E_BUILD_COMPONENTIZE_FAILED: /);
    expect(built.stderr).toContain('the settings table is missing');
    expect(existsSync(join(scratch, 'throws-ext', 'dist'))).toBe(false);
  }, 240_000);

  it('a module that draws randomness while it loads exits 1 saying so; one that keeps Math.random or crypto to call later builds and draws at run time', async () => {
    await algaExt(['init', 'random-at-load']);
    const source = join(scratch, 'random-at-load', 'src', 'index.ts');
    const template = readFileSync(source, 'utf8');
    for (const call of ['Math.random()', 'crypto.getRandomValues(new Uint8Array(4))']) {
      writeFileSync(source, `console.log(${call});\n${template}`);
      const built = await algaExt(['build', '--cache-dir', join(scratch, 'random-cache')], join(scratch, 'random-at-load'));
      expect(built.code).toBe(1);
      expect(built.stderr).toMatch(/^error E_BUILD_COMPONENTIZE_FAILED: /);
      expect(built.stderr).toContain(`${call.replace(/\(.*\)$/, '()')} cannot be called while the extension module loads`);
      expect(built.stderr).toContain('Call it inside a handler.');
      expect(existsSync(join(scratch, 'random-at-load', 'dist'))).toBe(false);
    }

    writeFileSync(source, [
      "import { createRouter, defineHandler, json } from '@alga/extension-runtime';",
      'const draw = Math.random;',
      'const fill = crypto.getRandomValues.bind(crypto);',
      "const router = createRouter().get('/draw', () => json({ kept: draw(), direct: Math.random(), bytes: Array.from(fill(new Uint8Array(8))), uuid: crypto.randomUUID() }));",
      'export const handler = defineHandler(router);',
      '',
    ].join('\n'));
    const built = await algaExt(['build', '--cache-dir', join(scratch, 'random-cache')], join(scratch, 'random-at-load'));
    expect(built.stderr).toBe('');
    const draws = [];
    for (let index = 0; index < 2; index++) {
      const ran = await algaExt(['run', join(scratch, 'random-at-load'), '--data-dir', join(scratch, 'random-data'), '--path', '/draw']);
      expect(ran.code).toBe(0);
      draws.push(JSON.parse(ran.stdout));
    }
    for (const draw of draws) {
      expect(draw.kept).toBeGreaterThanOrEqual(0);
      expect(draw.kept).toBeLessThan(1);
      expect(draw.bytes).toHaveLength(8);
      expect(draw.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    }
    expect(draws[0].kept).not.toBe(draws[1].kept);
    expect(draws[0].bytes).not.toEqual(draws[1].bytes);
  }, 240_000);

  it('init into a folder with files exits 1 with E_INIT_TARGET_EXISTS', async () => {
    await algaExt(['init', 'twice']);
    const again = await algaExt(['init', 'twice', '--template', 'ui']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('error E_INIT_TARGET_EXISTS:');
    expect(existsSync(join(scratch, 'twice', 'ui'))).toBe(false);
  });
});
