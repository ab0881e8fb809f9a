import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, sharedBuildCache } from '../support/projects.ts';

/**
 * A developer's extension in a folder of its own: the SDK and the CLI come from the packed
 * package (`npm pack` of this repository) that the project installs like any dependency; nothing in
 * the project points into this checkout. One componentize (cached by source hash across runs).
 */
const execFileAsync = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'alga-outside-'));
const project = join(work, 'my-ext');
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(command: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.SIGNING_TRUST_BUNDLE;
  delete env.NODE_OPTIONS; // the project's own CLI, not this test's loader
  try {
    const { stdout, stderr } = await execFileAsync(command, args, { cwd, env, maxBuffer: 32 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Every text file of the project but node_modules and build output. */
function projectFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (['node_modules', 'dist', '.alga-cache'].includes(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? projectFiles(path) : [path];
  });
}

describe('alga-ext outside this checkout', () => {
  it('init + npm install of the packed package + build (type-checked) + run, all from the project folder', async () => {
    const packed = await run('npm', ['pack', '--pack-destination', work], repoRoot);
    expect(packed.code, packed.stderr).toBe(0);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
    expect(tarball).toMatch(/^alga-extension-host-.*\.tgz$/);

    mkdirSync(project);
    const init = await run(process.execPath, [join(repoRoot, 'bin', 'alga-ext.js'), 'init', '.', '--sdk', `../${tarball}`], project);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout).toContain('npm install');
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).devDependencies).toEqual({ 'alga-extension-host': `file:../${tarball}` });
    for (const file of projectFiles(project)) expect(readFileSync(file, 'utf8'), file).not.toContain(realpathSync(repoRoot).replace(/\/$/, ''));

    const installed = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], project);
    expect(installed.code, installed.stderr).toBe(0);
    // Node 20 is what the README promises: nothing the package pulls in asks for more.
    expect(installed.stderr).not.toContain('EBADENGINE');
    const cli = join(project, 'node_modules', '.bin', 'alga-ext');
    expect(realpathSync(cli).startsWith(realpathSync(join(project, 'node_modules')))).toBe(true);

    const source = join(project, 'src', 'index.ts');
    const good = readFileSync(source, 'utf8');
    writeFileSync(source, good.replace('tenant: context.tenantId,', 'tenant: context.tenantId.toFixed(2),'));
    const typeError = await run(cli, ['build'], project);
    expect(typeError.code).toBe(1);
    expect(typeError.stderr).toMatch(/^error E_BUILD_TYPE_ERROR: .*\nsrc\/index\.ts:6:30: Property 'toFixed' does not exist on type 'string'\..* \(TS\d+\)\n/);
    expect(existsSync(join(project, 'dist'))).toBe(false);

    writeFileSync(source, good);
    const built = await run(cli, ['build', '--cache-dir', sharedBuildCache], project);
    expect(built.code, built.stderr).toBe(0);
    const answer = await run(cli, ['run', '--path', '/hello', '-c', 'greeting_name=Ada'], project);
    expect(answer.code, answer.stderr).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({ message: 'Hello, Ada', tenant: 'local-tenant' });
  }, 600_000);
});
