import { Command } from 'commander';
import { loadCommands, reportCliError, usageError } from './load-commands.ts';

const program = new Command('alga-host')
  .description('Run the Alga extension host and manage its data folder')
  .configureOutput({ outputError: usageError })
  .showHelpAfterError();

await loadCommands(program, new URL('./host-commands/', import.meta.url));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  reportCliError(error);
}
