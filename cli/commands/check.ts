import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { projectDirOf, withProjectDir } from './project-dir.ts';

/**
 * Type-checks the project, failing with `file:line:col: message` for each type error; `build` runs
 * it first. Source that does not parse is E_BUILD_SOURCE_ERROR; `build` leaves that to its bundle
 * step (`lenientSyntax`), which reports it the same way for source and UI.
 */
export async function checkOrFail(projectDir: string, lenientSyntax = false): Promise<number> {
  const { typeCheckProject } = await import('../../lib/build/check.ts'); // TypeScript takes ~0.5 s to load
  const result = typeCheckProject(projectDir);
  if (result.syntax && lenientSyntax) return result.files;
  if (result.errors.length > 0) throw new AlgaError(result.syntax ? 'E_BUILD_SOURCE_ERROR' : 'E_BUILD_TYPE_ERROR', `\n${result.errors.join('\n')}`);
  return result.files;
}

export function register(program: Command): void {
  withProjectDir(program.command('check').description('Type-check the extension (src/ and ui/, as tsconfig.json includes them) against the SDK; `build` runs this first'))
    .action(async (dir: string | undefined, options: { dir?: string }) => {
      const files = await checkOrFail(projectDirOf(dir, options.dir));
      process.stdout.write(`No type errors in ${files} file${files === 1 ? '' : 's'}.\n`);
    });
}
