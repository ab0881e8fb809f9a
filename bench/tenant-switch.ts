// What a tenant switch costs a worker, in parts: under the `tenant` policy an instance handed to
// another tenant is first reset to its code's start snapshot (runner/pool/memory-snapshot.ts),
// then called. On one thread, no worker or HTTP, examples/hello; baseline: a call on the tenant's
// own instance, measured in the same rounds. Also measured: the same reset to a snapshot taken
// after one call (what a start snapshot taken after a warm-up call would cost; the runner does not do
// this for `tenant`, see docs/runner.md). Thread CPU per operation, fastest of the rounds.
// Needs examples/hello built (npm test builds it). Run: node --import tsx bench/tenant-switch.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restoreSnapshot, takeSnapshot, type Snapshot } from '../runner/pool/memory-snapshot.ts';
import { benchContext, benchRequest, instantiateBenchGuest } from './guest-instance.ts';
import { threadCpuMicros } from './thread-cpu.ts';
import { fmt } from './runner-support.ts';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const perRound = Number(process.env.BENCH_CALLS ?? 400);
const cacheDir = mkdtempSync(join(tmpdir(), 'alga-bench-switch-'));
const guest = await instantiateBenchGuest('examples/hello', cacheDir);
const call = () => guest.handle(benchContext, benchRequest);
const restore = (snapshot: Snapshot) => restoreSnapshot(snapshot, guest.memory, guest.globals);

const startSnapshot = takeSnapshot(guest.memory, guest.globals);
call();
const afterOneCall = takeSnapshot(guest.memory, guest.globals);
restore(startSnapshot);

const cases: Array<[string, () => void]> = [
  ['call on the tenant\'s own instance (baseline)', call],
  ['reset to the start snapshot alone', () => restore(startSnapshot)],
  ['switched call: reset to the start snapshot + call', () => (restore(startSnapshot), call())],
  ['reset to a snapshot taken after one call + call', () => (restore(afterOneCall), call())],
];
const best = cases.map(() => Infinity);
for (const [, run] of cases) for (let i = 0; i < perRound / 4; i++) run();
for (let round = 0; round < rounds; round++) {
  cases.forEach(([, run], index) => {
    const started = threadCpuMicros();
    for (let i = 0; i < perRound; i++) run();
    best[index] = Math.min(best[index], (threadCpuMicros() - started) / perRound);
  });
}
const changedChunks = (() => {
  let changed = 0;
  for (let at = 0; at < startSnapshot.memory.length; at += 65536) {
    if (!Buffer.from(startSnapshot.memory.subarray(at, at + 65536)).equals(Buffer.from(afterOneCall.memory.subarray(at, at + 65536)))) changed++;
  }
  return changed;
})();
const nonZeroBytes = startSnapshot.runs.filter((run) => !run.zero).reduce((sum, run) => sum + run.end - run.start, 0);
console.log(`\ntenant switch — examples/hello, linear memory ${fmt(startSnapshot.memory.length / 1048576)} MB (${fmt(nonZeroBytes / 1048576)} MB not zero); thread CPU per operation, fastest of ${rounds} rounds of ${perRound}\n`);
cases.forEach(([label], index) => console.log(`${label.padEnd(54)} ${fmt(best[index], 0).padStart(6)} µs  ${fmt(best[index] / best[0], 2)}× baseline`));
console.log(`\nthe call after a reset to the start snapshot: ${fmt(best[2] - best[1], 0)} µs (the call's own code compiled again, caches cold); one call changes ${changedChunks} of ${Math.ceil(startSnapshot.memory.length / 65536)} 64 KB chunks`);
rmSync(cacheDir, { recursive: true, force: true });
