// Many tenants calling one extension: /v1/execute on examples/hello (`tenant` policy, 8
// connections) with the tenant id rotating over N tenants, N = 1, 16, 64, 256, in alternating
// rounds so every ratio is taken against the one-tenant figure of its own round. Also prints the
// runner's instances, their memory, its RSS and how many instances were created or handed over.
// Run: node --import tsx bench/many-tenants.ts   (BENCH_SECONDS per run, default 5; BENCH_ROUNDS, default 3;
// BENCH_RUNNER_CONFIG='{"instancesPerWorker":16}' passes runner settings; BENCH_BASELINE_DIR=<checkout> measures that checkout;
// BENCH_TARGET=sdk-failures:/count calls another published guest and path: test/guests/sdk-failures, whose warm-up logs and calls the host)
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { executeBody, fmt, startChild } from './runner-support.ts';

const tenantCounts = [1, 16, 64, 256];
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
const runner = await startChild(['runner', '2'], [], process.env.BENCH_BASELINE_DIR);

/** CPU time of the runner process (all threads), µs. */
function cpuMicros(): number {
  const fields = readFileSync(`/proc/${runner.child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100;
}
const { url, token, hashes } = runner.info as { url: string; token: string; hashes: Record<string, string> };
const [targetGuest, targetPath] = (process.env.BENCH_TARGET ?? 'hello:/hello').split(':');
const headers = { 'content-type': 'application/json', authorization: `Bearer ${token}` };

async function rotate(tenants: number, duration: number): Promise<{ rps: number; p50: number; p99: number; bad: number; cpu: number }> {
  const bodies = Array.from({ length: tenants }, (_, index) => executeBody(hashes[targetGuest], targetPath, { tenant: `tenant-${index}` }));
  let next = 0;
  const cpuBefore = cpuMicros();
  const result = await autocannon({
    url: `${url}/v1/execute`,
    method: 'POST',
    headers,
    connections: 8,
    duration,
    requests: [{ setupRequest: (request: object) => ({ ...request, body: bodies[next++ % tenants] }) }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, bad: result.errors + result.non2xx, cpu: (cpuMicros() - cpuBefore) / Math.max(1, result.requests.total) };
}

async function metrics(): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pick = (name: string) => Number(/^(\S+) (\S+)$/m.exec(text.split('\n').filter((line) => line.startsWith(`${name} `)).join('\n'))?.[2] ?? 0);
  return {
    instances: pick('runner_guest_instances'),
    instanceMb: pick('runner_guest_instance_memory_bytes') / 1048576,
    rssMb: pick('runner_process_resident_memory_bytes') / 1048576,
    created: pick('runner_guest_instantiations_total'),
    switches: pick('runner_guest_tenant_switches_total'),
  };
}

// The runner's own warm-up (V8 tier-up of its main thread and of the guest code) before any round.
await rotate(1, 4);
await rotate(256, 10); // fills the workers with instances (each instantiation takes 30–300 ms)

const byTenants = new Map<number, Array<{ rps: number; p50: number; p99: number; bad: number; cpu: number; ratio: number }>>();
for (let round = 1; round <= rounds; round++) {
  let one = 0;
  for (const tenants of tenantCounts) {
    await rotate(tenants, 2); // every tenant's first call, and V8's tier-up, before the measured run
    const before = await metrics();
    const measured = await rotate(tenants, seconds);
    const after = await metrics();
    if (tenants === 1) one = measured.rps;
    const ratio = (100 * measured.rps) / one;
    byTenants.set(tenants, [...(byTenants.get(tenants) ?? []), { ...measured, ratio }]);
    console.log(
      `round ${round}, ${String(tenants).padStart(3)} tenants: ${fmt(measured.rps, 0).padStart(6)} req/s (${fmt(ratio).padStart(5)}% of 1)  ${fmt(measured.cpu, 0)} µs CPU/req  p50 ${fmt(measured.p50)} ms  p99 ${fmt(measured.p99)} ms` +
        `  instances ${after.instances} (${fmt(after.instanceMb, 0)} MB), RSS ${fmt(after.rssMb, 0)} MB, created ${after.created - before.created}, handed over ${after.switches - before.switches}` +
        (measured.bad ? `  (${measured.bad} errors/non-2xx)` : ''),
    );
  }
}
await runner.stop();
console.log('\n| tenants | req/s (median) | % of one tenant (median of rounds) | CPU per request | p50 | p99 |\n|---|---|---|---|---|---|');
for (const [tenants, results] of byTenants) {
  const median = <T>(values: T[], key: (value: T) => number) => [...values].sort((a, b) => key(a) - key(b))[Math.floor(values.length / 2)];
  const typical = median(results, (result) => result.rps);
  console.log(`| ${tenants} | ${fmt(typical.rps, 0)} | ${fmt(median(results, (result) => result.ratio).ratio)} % | ${fmt(median(results, (result) => result.cpu).cpu, 0)} µs | ${fmt(typical.p50)} ms | ${fmt(typical.p99)} ms |`);
}
