import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * The project folder of `build`, `check` and `pack`, given as `--dir D` or, as `run` and `dev`
 * take it, as the first argument; `.` when neither is given.
 */
export function withProjectDir(command: Command): Command {
  return command.argument('[dir]', 'the extension project folder (or --dir)').option('-d, --dir <folder>', 'the extension project folder (default: ".")');
}

export function projectDirOf(positional: string | undefined, flag: string | undefined): string {
  if (positional !== undefined && flag !== undefined && positional !== flag) throw new AlgaError('E_CLI_USAGE', `Two project folders given: "${positional}" and --dir "${flag}"; give one.`);
  return positional ?? flag ?? '.';
}
