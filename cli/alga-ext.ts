import { Command } from 'commander';
import { loadCommands, reportCliError, usageError } from './load-commands.ts';

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
