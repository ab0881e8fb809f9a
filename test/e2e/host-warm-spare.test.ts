import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';

const runnerPid = (dataDir: string): number => Number(readFileSync(join(dataDir, 'run', 'runner.pid'), 'utf8'));

/** Polls `check` every 250 ms; the ms it took, or undefined when `withinMs` passed first. */
async function msUntil(check: () => Promise<boolean>, withinMs: number): Promise<number | undefined> {
  const started = Date.now();
  while (Date.now() - started < withinMs) {
    if (await check().catch(() => false)) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return undefined;
}

describe('the warm spare runner', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'alga-warm-spare-'));
  let host: HostProcess | undefined;
  afterAll(async () => {
    await host?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // The spare starts 15 s after the runner comes up, once the runner has had no call for 3 s. The
  // host's own background checks of its runner (every 2 s) are not calls: counted as calls, they
  // kept an idle host from ever being quiet, and the spare came only after the 2-minute cap.
  it('waits ready soon after an idle host starts, and serves at once when the runner is killed', async () => {
    host = await startHostProcess({ dataDir });
    const spareReady = async () => /^alga_host_runner_spare_ready 1$/m.test(await (await fetch(`${host!.url}/metrics`)).text());
    const readyAfterMs = await msUntil(spareReady, 100_000);
    expect(readyAfterMs, `no warm spare within 100 s of an idle host's start (the cap is 2 minutes):\n${host.output()}`).toBeDefined();

    const first = runnerPid(dataDir);
    process.kill(first, 'SIGKILL');
    const servedAfterMs = await msUntil(async () => runnerPid(dataDir) !== first && (await fetch(`${host!.url}/readyz`)).status === 200, 30_000);
    expect(servedAfterMs, host.output()).toBeDefined();
    expect(host.output()).toContain('its warm spare serves now');
    expect(host.output()).not.toContain('runner exited; restarting');
  }, 180_000);
});
