import { Command } from 'commander';
import { AlgaError } from '../lib/errors/index.ts';
import { loadCommands, reportCliError } from './load-commands.ts';

/** Commander's own errors (unknown option, missing argument, …) as `error E_CLI_USAGE: sentence`. */
function usageError(text: string, write: (text: string) => void): void {
  const detail = text.trim().replace(/^error: /, '');
  const sentence = `${detail.charAt(0).toUpperCase()}${detail.slice(1)}${/[.!?]$/.test(detail) ? '' : '.'}`;
  write(`error E_CLI_USAGE: ${new AlgaError('E_CLI_USAGE', sentence).message}\n`);
}

const program = new Command('alga-ext')
  .description('Build, pack, sign, verify, inspect, run and publish Alga extensions')
  .configureOutput({ outputError: usageError })
  .showHelpAfterError();

await loadCommands(program, new URL('./commands/', import.meta.url));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  reportCliError(error);
}
