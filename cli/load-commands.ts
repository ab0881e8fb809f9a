import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AlgaError } from '../lib/errors/index.ts';

/** A command module exports `register(program)`; each lives in its own file. */
export interface CommandModule {
  register(program: Command): void;
}

/**
 * Registers the command modules found in `folder`; each file is named after its command.
 * When argv names one of them, only that module is loaded (loading them all costs ~0.4 s);
 * help and unknown commands load every module so commander can list them.
 */
export async function loadCommands(program: Command, folder: URL, argv: string[] = process.argv): Promise<void> {
  const files = readdirSync(fileURLToPath(folder))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
    .sort();
  const requested = `${argv[2]}.ts`;
  const selected = files.includes(requested) ? [requested] : files;
  for (const file of selected) {
    const module = (await import(new URL(file, folder).href)) as Partial<CommandModule>;
    module.register?.(program);
  }
}

/** Prints a catalog error as `error CODE: sentence` and sets a non-zero exit code. */
export function reportCliError(error: unknown): void {
  if (error instanceof AlgaError) {
    process.stderr.write(`error ${error.code}: ${error.message}\n`);
  } else {
    process.stderr.write(`error: ${(error as Error)?.message ?? String(error)}\n`);
  }
  process.exitCode = 1;
}
