import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { initProject, templateNames } from '../../lib/build/init.ts';
import { exampleDir, repoRoot } from '../support/projects.ts';

const run = promisify(execFile);
const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
const scratch = mkdtempSync(join(tmpdir(), 'alga-typecheck-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function typecheck(projectDir: string): Promise<string> {
  try {
    await run(process.execPath, [tsc, '-p', projectDir]);
    return '';
  } catch (error) {
    return (error as { stdout: string }).stdout;
  }
}

/** A project made by init with the SDK package installed the way `npm install <folder>` does it (a link). */
function initInstalled(targetDir: string, template: string): { projectDir: string } {
  const { projectDir } = initProject({ targetDir, template });
  mkdirSync(join(projectDir, 'node_modules'));
  symlinkSync(repoRoot, join(projectDir, 'node_modules', 'alga-extension-host'), 'dir');
  return { projectDir };
}

/** Extension authors get types from the SDK (generated from wit/) through their tsconfig. */
describe('extension projects typecheck against the SDK', () => {
  for (const name of ['hello', 'kv-counter', 'egress']) {
    it(`examples/${name}`, async () => {
      expect(await typecheck(exampleDir(name))).toBe('');
    });
  }

  for (const template of templateNames()) {
    it(`a project made by init --template ${template}`, async () => {
      const { projectDir } = initInstalled(join(scratch, `typed-${template}`), template);
      expect(await typecheck(projectDir)).toBe('');
    });
  }

  it('a type error in an extension is reported against its file and line', async () => {
    const { projectDir } = initInstalled(join(scratch, 'typed-wrong'), 'hello');
    writeFileSync(join(projectDir, 'src', 'index.ts'), "import { json } from '@alga/extension-runtime';\nexport const response = json({}, 'not a status');\n");
    expect(await typecheck(projectDir)).toMatch(/src\/index\.ts\(2,/);
  });
});
