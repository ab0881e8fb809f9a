import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from './projects.ts';

export interface ProcessResult {
  /** The exit code; -1 when the process did not exit by itself. */
  status: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/** Runs `node <script> …args` in `cwd` as a user would, without the caller's SIGNING_TRUST_BUNDLE. */
export async function runNodeScript(script: string, args: string[], cwd: string): Promise<ProcessResult> {
  const env = { ...process.env };
  delete env.SIGNING_TRUST_BUNDLE;
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [script, ...args], { cwd, env, maxBuffer: 16 * 1024 * 1024 });
    return { status: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return { status: typeof failed.code === 'number' ? failed.code : -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The trust-bundle entry `alga-ext keygen` prints after its text lines. */
export function trustEntryFrom(keygenStdout: string): { keyId: string; publisher: string; publicKey: string } {
  return JSON.parse(keygenStdout.slice(keygenStdout.indexOf('{')));
}

/** `alga-ext …args` through the repository's bin shim, run in `cwd`. */
export function algaExt(cwd: string, ...args: string[]): Promise<ProcessResult> {
  return runNodeScript(join(repoRoot, 'bin', 'alga-ext.js'), args, cwd);
}
