// Guests calling the host under load (#10.3): one tenant, 4 connections, 2 workers, a handler that
// makes host calls (test/guests/misbehave `/log`: a log line and two metrics; `/storage/get`), and
// the answers counted by status. Before the fix, a job taken back from behind a running one could
// run on its first worker as well, its host calls went unanswered, and the next job there hit its
// deadline (~5 s 504s). Run: node --import tsx bench/host-calls.ts   (BENCH_SECONDS per route, default 20;
// BENCH_BASELINE_DIR=<checkout> runs that checkout's runner the same way)
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { fmt, post, startChild } from './runner-support.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 20);

async function measure(label: string, root?: string): Promise<void> {
  const runner = await startChild(['runner', '2'], [], root);
  const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
  for (const [path, query, providers] of [['/log', 'message=x', ['alga.log', 'alga.metrics']], ['/storage/get', 'key=a', ['alga.storage']]] as const) {
    const body = JSON.stringify({
      context: { tenant_id: 'bench-tenant', extension_id: 'bench', install_id: 'bench-install', version: '1.0.0', content_hash: hashes.misbehave },
      http: { method: 'GET', path, query, headers: {}, body_b64: '' },
      limits: {}, config: {}, providers, egress: [], isolation: 'tenant',
    });
    await post(`${url}/v1/execute`, token, body); // load, verify, transpile, compile: not in the figures
    const statuses = new Map<number, number>();
    const result = await autocannon({ url: `${url}/v1/execute`, method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, connections: 4, duration: seconds, timeout: 30 });
    for (const [status, count] of Object.entries(result.statusCodeStats ?? {})) statuses.set(Number(status), (count as { count: number }).count);
    console.log(`${label}: ${path} ${result.requests.total} calls, ${fmt(result.requests.average, 0)} req/s, p99 ${fmt(result.latency.p99)} ms, max ${fmt(result.latency.max)} ms, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  }
  await runner.stop();
}

if (process.env.BENCH_BASELINE_DIR) await measure('baseline', process.env.BENCH_BASELINE_DIR);
await measure('this checkout');
