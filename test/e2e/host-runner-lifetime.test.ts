import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnHostProcess, startHostProcess } from '../host/host-process.ts';

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
    await expectGone(runnerPid);
  }, 120_000);

  /** `alga-host start` on a new folder, resolved as soon as it has spawned its runner (still loading then). */
  async function hostSpawningItsRunner(dataDir: string) {
    const host = await spawnHostProcess({ dataDir, env: { ALGA_LOG_LEVEL: 'info' } });
    const runnerPid = await new Promise<number>((resolve, reject) => {
      const seen = () => {
        const started = /"pid":(\d+),"port":\d+,"msg":"runner started"/.exec(host.output());
        if (started) resolve(Number(started[1]));
      };
      host.child.stdout!.on('data', seen);
      host.child.stderr!.on('data', seen);
      host.child.once('exit', () => reject(new Error(`alga-host exited before starting its runner:\n${host.output()}`)));
    });
    return { ...host, runnerPid };
  }

  async function expectGone(pid: number) {
    for (const deadline = Date.now() + 30_000; isRunning(pid) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(isRunning(pid), `runner ${pid} still running after its host went away`).toBe(false);
  }

  // The runner listened for its IPC channel's disconnect only once its modules had loaded; a host
  // gone before that went unheard, and the runner served on, orphaned.
  it('stops the runner when the host is killed outright while the runner is still loading', async () => {
    const startingDir = mkdtempSync(join(tmpdir(), 'alga-runner-lifetime-loading-'));
    try {
      const host = await hostSpawningItsRunner(startingDir);
      host.child.kill('SIGKILL');
      await host.exited;
      await expectGone(host.runnerPid);
    } finally {
      rmSync(startingDir, { recursive: true, force: true });
    }
  }, 120_000);

  // An operator's Ctrl-C right after `npm start`: the host used to take its signal handlers only
  // once started, so the signal killed it outright, its runner stayed behind (or crashed writing to
  // the closed IPC channel) and the runner's key copy and pid file stayed in <data>/run.
  it('stops cleanly on SIGINT while it is still starting: exit 0, its runner gone, nothing left in run/', async () => {
    const startingDir = mkdtempSync(join(tmpdir(), 'alga-runner-lifetime-starting-'));
    try {
      const host = await hostSpawningItsRunner(startingDir);
      expect(host.output()).not.toContain('alga-host listening on'); // still starting: its runner is not ready yet
      host.child.kill('SIGINT');
      const { code, signal } = await host.exited;
      expect({ code, signal }, host.output()).toEqual({ code: 0, signal: null });
      expect(host.output()).toContain('alga-host stopping (SIGINT)');
      expect(host.output()).not.toMatch(/EPIPE|Unhandled 'error' event/);
      await expectGone(host.runnerPid);
      expect(readdirSync(join(startingDir, 'run'))).toEqual([]);
    } finally {
      rmSync(startingDir, { recursive: true, force: true });
    }
  }, 120_000);
});
