// Fair share between tenants (#9.4): tenant B's latency alone, and while tenant A keeps 8
// requests in flight to a handler that loops until its 2 s deadline (2 workers), in alternating
// rounds. B calls /hello on 2 connections; A calls /loop on 8 (each answered 504 at its deadline,
// then sent again). Prints B's p50/p99 and failures in both states and the p99 added by A's load.
// Run: node --import tsx bench/fair-share.ts   (BENCH_SECONDS per run, default 8; BENCH_ROUNDS, default 3;
// BENCH_BASELINE_DIR=<checkout> runs that checkout's runner the same way, for a before/after)
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { executeBody, fmt, startChild } from './runner-support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 8);

interface Figures {
  requests: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

async function hammer(url: string, token: string, body: string, connections: number, duration: number): Promise<Figures> {
  const result = await autocannon({ url: `${url}/v1/execute`, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, connections, duration, timeout: 30 });
  return { requests: result.requests.total, p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max, failed: result.errors + result.timeouts + result.non2xx };
}

/** Waits until the runner has nothing running or queued (A's last loops end after its load generator stops). */
async function drained(url: string): Promise<void> {
  for (;;) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (/^runner_executions_in_flight 0$/m.test(text)) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function measure(label: string, root?: string): Promise<void> {
  const runner = await startChild(['runner', '2'], [], root);
  const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
  const bodyB = executeBody(hashes.misbehave, '/hello', { tenant: 'tenant-b', limits: { timeout_ms: 2000 } });
  const bodyA = executeBody(hashes.misbehave, '/loop', { tenant: 'tenant-a', limits: { timeout_ms: 2000 } });
  await hammer(url, token, bodyB, 2, 3); // B's instances, V8 tier-up
  await drained(url);
  const idle: Figures[] = [];
  const loaded: Figures[] = [];
  for (let round = 1; round <= rounds; round++) {
    idle.push(await hammer(url, token, bodyB, 2, seconds));
    const a = hammer(url, token, bodyA, 8, seconds + 4);
    await new Promise((resolve) => setTimeout(resolve, 2000)); // A's loops fill the workers first
    loaded.push(await hammer(url, token, bodyB, 2, seconds));
    const aFigures = await a;
    await drained(url);
    const [i, l] = [idle.at(-1)!, loaded.at(-1)!];
    console.log(
      `${label} round ${round}: B alone p50 ${fmt(i.p50)} ms p99 ${fmt(i.p99)} ms (${i.requests} req, ${i.failed} failed) | ` +
        `B with A at 8 in flight p50 ${fmt(l.p50)} ms p99 ${fmt(l.p99)} ms max ${fmt(l.max)} ms (${l.requests} req, ${l.failed} failed) | ` +
        `p99 added ${fmt(l.p99 - i.p99)} ms | A: ${aFigures.requests} answered`,
    );
  }
  await runner.stop();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  console.log(
    `${label}: B p99 alone ${fmt(median(idle.map((f) => f.p99)))} ms, with A ${fmt(median(loaded.map((f) => f.p99)))} ms, ` +
      `added (median of rounds) ${fmt(median(loaded.map((f, index) => f.p99 - idle[index].p99)))} ms; B failed with A: ${loaded.reduce((sum, f) => sum + f.failed, 0)} of ${loaded.reduce((sum, f) => sum + f.requests, 0)}`,
  );
}

if (process.env.BENCH_BASELINE_DIR) await measure('baseline', process.env.BENCH_BASELINE_DIR);
await measure('this checkout');
