import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { AlgaError } from '../lib/errors/index.ts';
import { storageErrorOf } from '../lib/storage-faults.ts';

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

/**
 * Prints any failure as `error CODE: sentence` and sets exit code 1. A write the disk refused is
 * E_STORAGE_FULL / E_STORAGE_FAILED; any other error from outside the catalog becomes
 * E_CLI_UNEXPECTED with its message. The stack is printed only with ALGA_DEBUG=1.
 */
export function reportCliError(error: unknown): void {
  const alga = error instanceof AlgaError ? error : storageErrorOf(error) ?? new AlgaError('E_CLI_UNEXPECTED', messageOf(error), { cause: error });
  process.stderr.write(`error ${alga.code}: ${alga.message}\n`);
  if (process.env.ALGA_DEBUG === '1') process.stderr.write(`${stackOf(error)}\n`);
  process.exitCode = 1;
}

/** Commander's own errors (unknown option, missing argument, …) as `error E_CLI_USAGE: sentence`. */
export function usageError(text: string, write: (text: string) => void): void {
  const detail = text.trim().replace(/^error: /, '');
  const sentence = `${detail.charAt(0).toUpperCase()}${detail.slice(1)}${/[.!?]$/.test(detail) ? '' : '.'}`;
  write(`error E_CLI_USAGE: ${new AlgaError('E_CLI_USAGE', sentence).message}\n`);
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.trim() === '' ? 'It gave no message.' : message;
}

function stackOf(error: unknown): string {
  return (error instanceof Error && error.stack) || String(error);
}
