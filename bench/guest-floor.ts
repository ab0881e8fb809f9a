// The cost of one guest call on its own: no HTTP, no worker, no runner bookkeeping. A handler
// component is instantiated on this thread through jco's glue with the runner's own WASI, and
// `handle` is called in a loop. Baseline: the same handler written in plain JS, in Node.
// Needs the components built (npm test builds them). Run: node --import tsx bench/guest-floor.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchContext as context, benchRequest as request, instantiateBenchGuest, type Handle } from './guest-instance.ts';
import { threadCpuMicros } from './thread-cpu.ts';
import { fmt } from './runner-support.ts';

const rounds = 5;
const callsPerRound = Number(process.env.BENCH_CALLS ?? 4000);

/**
 * Fastest of several rounds for each handler, the handlers taking turns within every round so
 * that background tier-up and machine noise fall on all of them alike (noise only adds time).
 * Wall time per call, and the thread's CPU time per call (which a loaded machine inflates less:
 * time the thread waited for a core is not in it).
 */
function microsPerCall(handles: Handle[]): { wall: number[]; cpu: number[] } {
  for (const handle of handles) for (let i = 0; i < callsPerRound; i++) handle(context, request);
  const wall = handles.map(() => Infinity);
  const cpu = handles.map(() => Infinity);
  for (let round = 0; round < rounds; round++) {
    handles.forEach((handle, index) => {
      const started = performance.now();
      const cpuStarted = threadCpuMicros();
      for (let i = 0; i < callsPerRound; i++) handle(context, request);
      cpu[index] = Math.min(cpu[index], (threadCpuMicros() - cpuStarted) / callsPerRound);
      wall[index] = Math.min(wall[index], ((performance.now() - started) * 1000) / callsPerRound);
    });
  }
  return { wall, cpu };
}

const cacheDir = mkdtempSync(join(tmpdir(), 'alga-bench-floor-'));
let hostCalls = 0;

async function instantiateGuest(project: string, direct: boolean): Promise<Handle> {
  return (await instantiateBenchGuest(project, cacheDir, { direct, onWasiCall: () => hostCalls++ })).handle;
}

const encoder = new TextEncoder();
const plainHandler: Handle = (c) => {
  const ctx = c as typeof context;
  const config = Object.fromEntries(ctx.config);
  return { status: 200, headers: [['content-type', 'application/json; charset=utf-8']], body: encoder.encode(JSON.stringify({ message: `Hello, ${config.greeting_name ?? 'world'}`, tenant: ctx.tenantId })) };
};

process.env = { ...process.env }; // as in the runner's workers: jco's glue reads process.env on every call
const { wall: [baseline] } = microsPerCall([plainHandler]);
console.log(`${'plain JS handler in Node (baseline)'.padEnd(52)} ${fmt(baseline, 2).padStart(8)} µs/call ${fmt(1e6 / baseline, 0).padStart(9)} calls/s`);
const guests = [
  ['examples/hello (SDK router + json())', 'examples/hello'],
  ['test/guests/misbehave GET /hello (no SDK)', 'test/guests/misbehave'],
];
for (const [label, project] of guests) {
  // direct: the clock and u64 random handed to the core module as the runner does; and every WASI call through jco's trampolines
  const variants = [
    { label, handle: await instantiateGuest(project, true) },
    { label: '  the same, every WASI and storage call through jco', handle: await instantiateGuest(project, false) },
  ];
  const { wall: micros, cpu } = microsPerCall(variants.map((variant) => variant.handle));
  variants.forEach((variant, index) => {
    hostCalls = 0;
    variant.handle(context, request);
    console.log(`${variant.label.padEnd(52)} ${fmt(micros[index], 1).padStart(8)} µs/call ${fmt(1e6 / micros[index], 0).padStart(9)} calls/s  ${fmt(micros[index] / baseline, 0)}× baseline, ${hostCalls} WASI calls per call through jco's glue, ${fmt(cpu[index], 1)} µs CPU/call`);
  });
}

// Storage calls on their own: test/guests/misbehave `/storage/mix` with 10 gets, and with 1 put,
// against the same route with neither, over a storage that answers at once (a 7-byte value for
// every get; no LMDB, no worker), with `get` and `put` handed to the core module directly as the
// runner does, and through jco's trampolines, taking turns.
{
  const value = encoder.encode('value 1');
  const refuse = () => {
    throw { payload: { tag: 'unavailable', val: 'Only get and put in this benchmark.' } };
  };
  const storage = { get: () => value, put: () => undefined, delete: refuse, listByPrefix: refuse, getVersioned: refuse, increment: refuse, batch: refuse };
  const guest = async (directStorage: boolean) => (await instantiateBenchGuest('test/guests/misbehave', cacheDir, { directStorage, hostImports: { storage } })).handle;
  const mix = (reads: number, writes: number): typeof request => ({ ...request, path: '/storage/mix', query: `reads=${reads}&writes=${writes}` });
  const routes = [mix(0, 0), mix(10, 0), mix(0, 1)];
  const handles: Handle[] = [];
  for (const directStorage of [true, false]) {
    const handle = await guest(directStorage);
    for (const route of routes) handles.push((c) => handle(c, route));
  }
  const { cpu } = microsPerCall(handles);
  const perCall = (offset: number) => ({ get: (cpu[offset + 1] - cpu[offset]) / 10, put: cpu[offset + 2] - cpu[offset] });
  const [direct, throughJco] = [perCall(0), perCall(3)];
  console.log('test/guests/misbehave /storage/mix against the same route without storage calls:');
  console.log(`${'  a get, handed to the core module (as the runner)'.padEnd(52)} ${fmt(direct.get, 1).padStart(8)} µs CPU; through jco (baseline) ${fmt(throughJco.get, 1)} µs = ${fmt(direct.get / throughJco.get, 2)}× baseline`);
  console.log(`${'  a put, handed to the core module (as the runner)'.padEnd(52)} ${fmt(direct.put, 1).padStart(8)} µs CPU; through jco (baseline) ${fmt(throughJco.put, 1)} µs = ${fmt(direct.put / throughJco.put, 2)}× baseline`);
}
rmSync(cacheDir, { recursive: true, force: true });
