// Another tenant's gateway latency while publishes run (issue 10.7): tenant acme calls hello from
// 4 loops without pause; rounds alternate between no publishing (the baseline) and a burst of
// BENCH_PUBLISHES parallel publishes of ~12 MB signed bundles (each a new version, so each is
// verified and stored). With BENCH_BASELINE_ROOT=/path/to/other/checkout the same rounds also run
// against that checkout's host (e.g. main before this change), alternating with this one.
// Run: node --import tsx bench/publish-stall.ts   (BENCH_ROUNDS 3, BENCH_PUBLISHES 10)
import { rmSync } from 'node:fs';
import { uploadBundle } from '../host/plugins/extensions/registry/publish-client.ts';
import { percentile, prepareFixture, publishAndInstall, signedHello, startHost, type Fixture, type HostProcess } from './faults/support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const publishes = Number(process.env.BENCH_PUBLISHES ?? 10);
const loops = 4;

interface Subject {
  name: string;
  fixture: Fixture;
  host: HostProcess;
  idle: number[];
  burst: number[];
  publishMs: number[];
  nextVersion: number;
}

async function subject(name: string, root?: string): Promise<Subject> {
  const fixture = prepareFixture();
  const host = await startHost(fixture, { RUNNER_WARM_SPARE: '0' }, { root });
  await publishAndInstall(host, fixture, signedHello(fixture.key));
  return { name, fixture, host, idle: [], burst: [], publishMs: [], nextVersion: 1 };
}

/** Calls hello from `loops` loops until `done` resolves; returns every call's latency (ms). */
async function callWhile(s: Subject, done: Promise<unknown>): Promise<number[]> {
  let finished = false;
  void done.finally(() => (finished = true));
  const latencies: number[] = [];
  const headers = { authorization: `Bearer ${s.fixture.tenantTokens.acme}` };
  await Promise.all(Array.from({ length: loops }, async () => {
    while (!finished) {
      const started = performance.now();
      const answer = await fetch(`${s.host.url}/api/ext/com.example.hello/hello`, { headers });
      await answer.arrayBuffer();
      if (answer.status !== 200) throw new Error(`${s.name}: the call answered ${answer.status}`);
      latencies.push(performance.now() - started);
    }
  }));
  return latencies;
}

async function round(s: Subject): Promise<void> {
  // Baseline: the same calls for a few seconds with nothing else going on.
  s.idle.push(...(await callWhile(s, new Promise((resolve) => setTimeout(resolve, 3000)))));
  const bundles = Array.from({ length: publishes }, () => signedHello(s.fixture.key, (manifest) => ({ ...manifest, version: `1.1.${s.nextVersion++}` })));
  const started = performance.now();
  const burst = Promise.all(bundles.map(async (bundle) => {
    const answer = await uploadBundle({ registryUrl: s.host.url, token: s.fixture.publisherToken, bytes: bundle.bytes, signatureFile: bundle.signatureFile });
    if (answer.status !== 201) throw new Error(`${s.name}: publish answered ${answer.status}: ${JSON.stringify(answer.body)}`);
  }));
  s.burst.push(...(await callWhile(s, burst)));
  await burst;
  s.publishMs.push(performance.now() - started);
}

const subjects = [await subject('this checkout')];
if (process.env.BENCH_BASELINE_ROOT) subjects.push(await subject(`baseline ${process.env.BENCH_BASELINE_ROOT}`, process.env.BENCH_BASELINE_ROOT));
try {
  for (let r = 0; r < rounds; r++) {
    for (const s of subjects) {
      await round(s);
      console.log(`round ${r + 1} ${s.name}: idle p99 ${percentile(s.idle, 99).toFixed(1)} ms, during the burst p99 ${percentile(s.burst, 99).toFixed(1)} ms, ${publishes} publishes in ${s.publishMs.at(-1)!.toFixed(0)} ms`);
    }
  }
  console.log(`\nanother tenant's gateway calls, ${loops} loops, while ${publishes} parallel 12 MB publishes run (${rounds} rounds; ms)`);
  for (const s of subjects) {
    const row = (values: number[]) => `p50 ${percentile(values, 50).toFixed(1)}  p99 ${percentile(values, 99).toFixed(1)}  max ${percentile(values, 100).toFixed(1)}  (n=${values.length})`;
    console.log(`  ${s.name}`);
    console.log(`    idle:          ${row(s.idle)}`);
    console.log(`    during burst:  ${row(s.burst)}`);
    console.log(`    p99 ratio burst/idle: ${(percentile(s.burst, 99) / percentile(s.idle, 99)).toFixed(1)}x; a burst took ${percentile(s.publishMs, 50).toFixed(0)} ms (median)`);
  }
} finally {
  for (const s of subjects) {
    await s.host.stop();
    rmSync(s.fixture.work, { recursive: true, force: true });
  }
}
