// The execution log under a soak (issue 10.4): two hosts take the same gateway load side by side,
// one with a small execution-log cap (EXT_EXECUTION_LOG_MAX_MB, default here 4) and one with the
// caps off (the baseline: what the log cost before it had a size cap). Every few seconds it prints
// each store's data.mdb size and the log's rows; the capped one must level off.
// Run: node --import tsx bench/execution-log-soak.ts   (BENCH_DURATION_S 90, BENCH_CAP_MB 4, BENCH_CONNECTIONS 8)
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { prepareFixture, publishAndInstall, signedHello, sleep, startHost, type Fixture, type HostProcess } from './faults/support.ts';

const duration = Number(process.env.BENCH_DURATION_S ?? 90);
const capMb = Number(process.env.BENCH_CAP_MB ?? 4);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8);

interface Subject {
  name: string;
  fixture: Fixture;
  host: HostProcess;
  samples: { at: number; storeMb: number; rows: number; logMb: number }[];
  calls: number;
}

async function subject(name: string, env: Record<string, string>): Promise<Subject> {
  const fixture = prepareFixture();
  const host = await startHost(fixture, { RUNNER_WARM_SPARE: '0', ...env });
  await publishAndInstall(host, fixture, signedHello(fixture.key));
  return { name, fixture, host, samples: [], calls: 0 };
}

async function sample(s: Subject, at: number): Promise<void> {
  const metrics = await (await fetch(`${s.host.url}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN);
  s.samples.push({ at, storeMb: statSync(join(s.fixture.dataDir, 'store', 'data.mdb')).size / 1048576, rows: value('alga_execution_log_stored_rows'), logMb: value('alga_execution_log_stored_bytes') / 1048576 });
}

const subjects = [
  await subject(`capped at ${capMb} MB`, { EXT_EXECUTION_LOG_MAX_MB: String(capMb) }),
  await subject('no cap (baseline)', { EXT_EXECUTION_LOG_MAX_MB: '0', EXT_EXECUTION_LOG_MAX_ROWS: '0' }),
];
try {
  const started = performance.now();
  const loads = subjects.map((s) =>
    autocannon({ url: `${s.host.url}/api/ext/com.example.hello/hello`, headers: { authorization: `Bearer ${s.fixture.tenantTokens.acme}` }, connections, duration }).then((result: { requests: { total: number }; non2xx: number }) => {
      s.calls = result.requests.total;
      if (result.non2xx > 0) console.log(`${s.name}: ${result.non2xx} answers were not 2xx`);
    }),
  );
  let done = false;
  void Promise.all(loads).finally(() => (done = true));
  while (!done) {
    await sleep(5000);
    const at = (performance.now() - started) / 1000;
    await Promise.all(subjects.map((s) => sample(s, at)));
    console.log(`${at.toFixed(0).padStart(4)} s  ${subjects.map((s) => `${s.name}: data.mdb ${s.samples.at(-1)!.storeMb.toFixed(1)} MB, log ${s.samples.at(-1)!.rows} rows / ${s.samples.at(-1)!.logMb.toFixed(1)} MB`).join('   ')}`);
  }
  await Promise.all(loads);
  await sleep(2000);
  await Promise.all(subjects.map((s) => sample(s, (performance.now() - started) / 1000)));
  console.log(`\nexecution log soak, ${duration} s of ${connections} connections per host, side by side`);
  // From the first sample at which the capped log reached its cap: how much each store grew after it.
  const capReachedAt = subjects[0].samples.find((row) => row.logMb >= capMb * 0.9)?.at;
  for (const s of subjects) {
    const after = s.samples.filter((row) => capReachedAt !== undefined && row.at >= capReachedAt);
    const growth = after.length > 1 ? `grew ${(after.at(-1)!.storeMb - after[0].storeMb).toFixed(1)} MB in the ${(after.at(-1)!.at - after[0].at).toFixed(0)} s after the cap was reached` : 'the cap was not reached (run longer)';
    console.log(`  ${s.name.padEnd(20)} ${s.calls} calls; data.mdb ${s.samples.at(-1)!.storeMb.toFixed(1)} MB at the end, ${growth}; log ${s.samples.at(-1)!.rows} rows, ${s.samples.at(-1)!.logMb.toFixed(1)} MB of pages`);
  }
  const [capped, open] = subjects;
  console.log(`  store size, capped vs no cap: ${(capped.samples.at(-1)!.storeMb / open.samples.at(-1)!.storeMb).toFixed(2)}x; bytes per call without a cap: ${((open.samples.at(-1)!.storeMb * 1048576) / Math.max(1, open.calls)).toFixed(0)}`);
} finally {
  for (const s of subjects) {
    await s.host.stop();
    rmSync(s.fixture.work, { recursive: true, force: true });
  }
}
