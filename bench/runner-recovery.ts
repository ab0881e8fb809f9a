// Recovery after a runner crash: `kill -9` of the runner child of a real `alga-host start`, then
// the time until the replacement is in the pid file, answers /healthz, the host's /readyz turns
// 200, and the first gateway call answers 200 again. Two hosts in alternating rounds: with the
// warm spare (the default) and without it (RUNNER_WARM_SPARE=0), the baseline of the same run.
// Run: node --import tsx bench/runner-recovery.ts   (BENCH_ROUNDS, default 5 per host;
// BENCH_BASELINE_ROOT=<checkout> adds a host of that checkout, warm spare on, to the same rounds)
import { readFileSync, rmSync } from 'node:fs';
import { median, percentile, prepareFixture, publishAndInstall, runnerPid, signedHello, sleep, startHost, type Fixture, type HostProcess } from './faults/support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

async function status(url: string, init?: RequestInit): Promise<number> {
  try {
    const answer = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
    await answer.arrayBuffer();
    return answer.status;
  } catch {
    return 0;
  }
}

/** ms from `since` until `check` first holds, polling every `everyMs`. */
async function until(since: number, check: () => boolean | Promise<boolean>, everyMs = 5): Promise<number> {
  for (;;) {
    if (await check()) return performance.now() - since;
    if (performance.now() - since > 60_000) return Number.NaN;
    await sleep(everyMs);
  }
}

interface Subject {
  name: string;
  /** Runs with the warm spare on: each round first waits until one is ready. */
  spare: boolean;
  fixture: Fixture;
  host: HostProcess;
  rows: { spawned: number; healthy: number; ready: number; first200: number; failed: number }[];
}

async function subject(name: string, env: Record<string, string>, root?: string): Promise<Subject> {
  const fixture = prepareFixture();
  const host = await startHost(fixture, env, { root });
  await publishAndInstall(host, fixture, signedHello(fixture.key));
  return { name, spare: env.RUNNER_WARM_SPARE !== '0', fixture, host, rows: [] };
}

async function round(s: Subject): Promise<void> {
  const call = `${s.host.url}/api/ext/com.example.hello/hello`;
  const headers = { authorization: `Bearer ${s.fixture.tenantTokens.acme}` };
  // A settled host: the extension answers, and a spare (where there is one) waits.
  if ((await status(call, { headers })) !== 200) throw new Error(`${s.name}: the warm call failed`);
  if (s.spare) await until(performance.now(), async () => /^alga_host_runner_spare_ready 1$/m.test(await (await fetch(`${s.host.url}/metrics`)).text()), 100);

  const pid = runnerPid(s.fixture)!;
  const killedAt = performance.now();
  process.kill(pid, 'SIGKILL');
  let failed = 0;
  const spawned = until(killedAt, () => (runnerPid(s.fixture) ?? pid) !== pid);
  const ready = (async () => {
    await until(killedAt, async () => (await status(`${s.host.url}/readyz`)) !== 200, 2);
    return until(killedAt, async () => (await status(`${s.host.url}/readyz`)) === 200);
  })();
  const first200 = until(killedAt, async () => {
    const code = await status(call, { headers });
    if (code !== 200) failed++;
    return code === 200;
  });
  const healthy = (async () => {
    await spawned;
    const port = /(?:^|\0)RUNNER_PORT=(\d+)/.exec(readFileSync(`/proc/${runnerPid(s.fixture)}/environ`, 'utf8'))?.[1];
    return until(killedAt, async () => (await status(`http://127.0.0.1:${port}/healthz`)) === 200);
  })();
  const row = { spawned: await spawned, healthy: await healthy, ready: await ready, first200: await first200, failed };
  s.rows.push(row);
  console.log(`${s.name.padEnd(26)} replacement in pid file ${row.spawned.toFixed(0).padStart(5)} ms, its /healthz ${row.healthy.toFixed(0).padStart(5)} ms, host /readyz ${row.ready.toFixed(0).padStart(5)} ms, first gateway 200 ${row.first200.toFixed(0).padStart(5)} ms after the kill (${failed} calls answered non-200 meanwhile)`);
}

const subjects = [await subject('warm spare', {}), await subject('no spare', { RUNNER_WARM_SPARE: '0' })];
if (process.env.BENCH_BASELINE_ROOT) subjects.push(await subject('warm spare, baseline tree', {}, process.env.BENCH_BASELINE_ROOT));
try {
  for (let r = 0; r < rounds; r++) for (const s of subjects) await round(s);
  console.log(`\nrunner recovery after kill -9, ${rounds} rounds each, alternating (ms after the kill; median / max)`);
  for (const s of subjects) {
    const column = (name: 'spawned' | 'healthy' | 'ready' | 'first200') => s.rows.map((row) => row[name]);
    console.log(`  ${s.name.padEnd(26)} ${(['spawned', 'healthy', 'ready', 'first200'] as const).map((name) => `${name} ${median(column(name)).toFixed(0)} / ${percentile(column(name), 100).toFixed(0)}`).join('   ')}`);
  }
  const [spare, none] = subjects.map((s) => median(s.rows.map((row) => row.first200)));
  console.log(`  first 200, warm spare vs none: ${(spare / none).toFixed(2)}x`);
} finally {
  for (const s of subjects) {
    await s.host.stop();
    rmSync(s.fixture.work, { recursive: true, force: true });
  }
}
