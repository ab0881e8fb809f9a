import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
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
});
