import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../host/core/runner/free-port.ts';
import { repoRoot } from '../support/projects.ts';

export interface HostProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/** `node bin/alga-host.js start` as a real child process on a free loopback port; resolves once /readyz is 200. */
export async function startHostProcess(options: { dataDir: string; env?: Record<string, string>; profile?: string; port?: number }): Promise<HostProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-host.js'), 'start', '--data', options.dataDir, '--port', String(port), '--profile', options.profile ?? 'appliance'], {
    env: { ...process.env, ALGA_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`alga-host exited with ${child.exitCode}:\n${output}`);
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`alga-host did not become ready:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    url,
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
