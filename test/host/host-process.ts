import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../host/core/runner/free-port.ts';
import { repoRoot } from '../support/projects.ts';

export interface HostProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** How the process ended, once it has. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

interface HostProcessOptions {
  dataDir: string;
  env?: Record<string, string>;
  profile?: string;
  port?: number;
}

/** `node bin/alga-host.js start` as a real child process on a free loopback port, handed back at once (still starting). */
export async function spawnHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-host.js'), 'start', '--data', options.dataDir, '--port', String(port), '--profile', options.profile ?? 'appliance'], {
    env: { ...process.env, ALGA_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      return (await exited).code;
    },
  };
}

/** `node bin/alga-host.js start` as a real child process on a free loopback port; resolves once /readyz is 200. */
export async function startHostProcess(options: HostProcessOptions): Promise<HostProcess> {
  const host = await spawnHostProcess(options);
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (host.child.exitCode !== null) throw new Error(`alga-host exited with ${host.child.exitCode}:\n${host.output()}`);
    try {
      if ((await fetch(`${host.url}/readyz`)).status === 200) return host;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      host.child.kill('SIGKILL');
      throw new Error(`alga-host did not become ready:\n${host.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
