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

// Host calls on their own: test/guests/misbehave `/storage/mix` with 10 gets, and with 1 put,
// against the same route with neither, and `/log` (a log line and two metrics), over host
// interfaces that answer at once (a 7-byte value for every get; no LMDB, no worker, no main
// thread), the imports handed to the core module directly as the runner does, and through jco's
// trampolines, taking turns.
{
  const value = encoder.encode('value 1');
  const refuse = () => {
    throw { payload: { tag: 'unavailable', val: 'Not in this benchmark.' } };
  };
  const storage = { get: () => value, put: () => undefined, delete: refuse, listByPrefix: refuse, getVersioned: refuse, increment: refuse, batch: refuse };
  const logging = { log: () => undefined };
  const metrics = { counter: () => undefined, histogram: () => undefined };
  const guest = async (directHost: boolean) => (await instantiateBenchGuest('test/guests/misbehave', cacheDir, { directHost, hostImports: { storage, logging, metrics } })).handle;
  const route = (path: string, query = ''): typeof request => ({ ...request, path, query });
  const routes = [route('/storage/mix', 'reads=0&writes=0'), route('/storage/mix', 'reads=10&writes=0'), route('/storage/mix', 'reads=0&writes=1'), route('/log', 'message=x')];
  const handles: Handle[] = [];
  for (const directHost of [true, false]) {
    const handle = await guest(directHost);
    for (const each of routes) handles.push((c) => handle(c, each));
  }
  const { cpu } = microsPerCall(handles);
  const figures = (offset: number) => ({ get: (cpu[offset + 1] - cpu[offset]) / 10, put: cpu[offset + 2] - cpu[offset], log: cpu[offset + 3] });
  const [direct, throughJco] = [figures(0), figures(routes.length)];
  console.log('test/guests/misbehave, host calls answered at once, handed to the core module (as the runner) against through jco (baseline):');
  console.log(`${'  a storage get (/storage/mix, 10 gets against none)'.padEnd(52)} ${fmt(direct.get, 1).padStart(8)} µs CPU; baseline ${fmt(throughJco.get, 1)} µs = ${fmt(direct.get / throughJco.get, 2)}×`);
  console.log(`${'  a storage put (1 put against none)'.padEnd(52)} ${fmt(direct.put, 1).padStart(8)} µs CPU; baseline ${fmt(throughJco.put, 1)} µs = ${fmt(direct.put / throughJco.put, 2)}×`);
  console.log(`${'  /log: a log line and two metrics, the whole call'.padEnd(52)} ${fmt(direct.log, 1).padStart(8)} µs CPU; baseline ${fmt(throughJco.log, 1)} µs = ${fmt(direct.log / throughJco.log, 2)}×`);
}
rmSync(cacheDir, { recursive: true, force: true });
