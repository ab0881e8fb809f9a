import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../host/core/runner/free-port.ts';
import { startHostProcess } from '../host/host-process.ts';

const isRunning = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the runner child lives no longer than its host', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-lifetime-'));
  let runnerPid = 0;
  afterAll(() => {
    if (runnerPid && isRunning(runnerPid)) process.kill(runnerPid, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('stops the runner when the host is killed outright (SIGKILL), leaving no orphan', async () => {
    const host = await startHostProcess({ dataDir });
    runnerPid = Number(readFileSync(join(dataDir, 'run', 'runner.pid'), 'utf8'));
    expect(isRunning(runnerPid)).toBe(true);
    host.child.kill('SIGKILL');
    await host.stop();
    for (const deadline = Date.now() + 30_000; isRunning(runnerPid) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isRunning(runnerPid), `runner ${runnerPid} still running after its host was killed`).toBe(false);
  }, 120_000);

  // An operator's Ctrl-C right after `npm start`: the host used to take its signal handlers only
  // once started, so the signal killed it outright, its runner stayed behind (or crashed writing to
  // the closed IPC channel) and the runner's key copy and pid file stayed in <data>/run.
  it('stops cleanly on SIGINT while it is still starting: exit 0, its runner gone, nothing left in run/', async () => {
    const startingDir = mkdtempSync(join(tmpdir(), 'alga-runner-lifetime-starting-'));
    try {
      const child = spawn(process.execPath, ['bin/alga-host.js', 'start', '--data', startingDir, '--port', String(await freePort()), '--profile', 'appliance'], {
        cwd: join(import.meta.dirname, '..', '..'),
        env: { ...process.env, ALGA_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      let startingPid = 0;
      await new Promise<void>((resolve, reject) => {
        const seen = (data: Buffer) => {
          output += data.toString();
          const started = /"pid":(\d+),"port":\d+,"msg":"runner started"/.exec(output);
          if (started && !startingPid) {
            startingPid = Number(started[1]);
            resolve();
          }
        };
        child.stdout!.on('data', seen);
        child.stderr!.on('data', seen);
        child.once('exit', () => reject(new Error(`alga-host exited before starting its runner:\n${output}`)));
      });
      expect(output).not.toContain('alga-host listening on'); // still starting: its runner is not ready yet
      child.kill('SIGINT');
      const { code, signal } = await exited;
      expect({ code, signal }, output).toEqual({ code: 0, signal: null });
      expect(output).toContain('alga-host stopping (SIGINT)');
      expect(output).not.toMatch(/EPIPE|Unhandled 'error' event/);
      for (const deadline = Date.now() + 30_000; isRunning(startingPid) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(isRunning(startingPid), `runner ${startingPid} still running after its host stopped`).toBe(false);
      expect(readdirSync(join(startingDir, 'run'))).toEqual([]);
    } finally {
      rmSync(startingDir, { recursive: true, force: true });
    }
  }, 120_000);
});
