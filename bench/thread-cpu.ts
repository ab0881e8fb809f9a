// CPU time per thread of a process, from /proc (Linux), for the benchmarks' per-thread splits.
import { readdirSync, readFileSync } from 'node:fs';

export interface ThreadTimes {
  /** Time on a CPU (schedstat, nanosecond precision). */
  total: number;
  /** Of which in the kernel (stat, clock-tick precision). */
  system: number;
}

/** CPU time of every thread of `pid`, in microseconds, by thread id (empty off Linux). */
export function threadCpu(pid: number | undefined): Map<number, ThreadTimes> {
  const threads = new Map<number, ThreadTimes>();
  if (!pid) return threads;
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const onCpuNanos = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      threads.set(Number(tid), { total: onCpuNanos / 1000, system: (Number(fields[12]) * 1e6) / 100 }); // clock ticks (USER_HZ 100)
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

export interface CpuSplit {
  /** The main thread (the event loop). */
  main: number;
  /** The `busiest` most used other threads (the guest workers under load). */
  busiest: number;
  /** Every other thread (V8's compiler and GC helpers, libuv). */
  rest: number;
  total: number;
  /** The part of `total` spent in the kernel (system calls: sockets, futexes, the loopback network stack). */
  system: number;
}

/**
 * The CPU `pid` used between two snapshots, split into its main thread, its `busiest` most used
 * other threads and the rest. Node does not name its threads, so under load the guest workers
 * are told apart from V8's helpers by how much they ran.
 */
export function cpuSplit(pid: number | undefined, before: Map<number, ThreadTimes>, after: Map<number, ThreadTimes>, busiest = 0): CpuSplit {
  const deltas = [...after].map(([tid, times]) => {
    const earlier = before.get(tid) ?? { total: 0, system: 0 };
    return { tid, micros: times.total - earlier.total, system: times.system - earlier.system };
  });
  const system = deltas.reduce((sum, delta) => sum + delta.system, 0);
  const main = deltas.find((delta) => delta.tid === pid)?.micros ?? 0;
  const others = deltas.filter((delta) => delta.tid !== pid).map((delta) => delta.micros).sort((a, b) => b - a);
  const top = others.slice(0, busiest).reduce((sum, micros) => sum + micros, 0);
  const rest = others.slice(busiest).reduce((sum, micros) => sum + micros, 0);
  return { main, busiest: top, rest, total: main + top + rest, system };
}

/** Each figure divided by `calls`. */
export function perCall(split: CpuSplit, calls: number): CpuSplit {
  return { main: split.main / calls, busiest: split.busiest / calls, rest: split.rest / calls, total: split.total / calls, system: split.system / calls };
}

/** CPU time the calling thread has run, in µs (Linux: /proc/thread-self/schedstat, nanoseconds); NaN elsewhere. */
export function threadCpuMicros(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1000;
  } catch {
    return Number.NaN;
  }
}
