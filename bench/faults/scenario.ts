/** One fault the harness (bench/faults/run.ts) inflicts on a real host, and what must hold afterwards. */
export interface Scenario {
  name: string;
  /** What is done and what is checked, in one sentence. */
  summary: string;
  /** A reason the scenario cannot run here (e.g. mounting a tmpfs needs root), or undefined. */
  unavailable?(): string | undefined;
  run(report: (line: string) => void): Promise<Check[]>;
}

export interface Check {
  what: string;
  ok: boolean;
  detail?: string;
}

export const check = (what: string, ok: boolean, detail?: string): Check => ({ what, ok, detail });

/** Statuses of calls made while a fault happens, and how long the slowest took. */
export interface CallLog {
  statuses: Map<number, number>;
  /** Non-200 answers whose body was not the one error shape with a catalog code and the request id. */
  badShapes: string[];
  slowestMs: number;
  /** When the first call that started at or after `since` answered 200 (performance.now()). */
  firstOkAfter(since: number): number | undefined;
  /** [started, finished] of every 200. */
  ok: [number, number][];
}

export function newCallLog(): CallLog {
  const ok: [number, number][] = [];
  return {
    statuses: new Map(),
    badShapes: [],
    slowestMs: 0,
    ok,
    firstOkAfter: (since) => ok.find(([started]) => started >= since)?.[1],
  };
}

/** Calls `url` from `loops` loops until `until` resolves, recording every answer into `log`. */
export async function callUntil(url: string, headers: Record<string, string>, until: Promise<unknown>, log: CallLog, loops = 4): Promise<void> {
  let done = false;
  void until.finally(() => (done = true));
  await Promise.all(Array.from({ length: loops }, async () => {
    while (!done) {
      const started = performance.now();
      let status = 0;
      try {
        const answer = await fetch(url, { headers, signal: AbortSignal.timeout(30_000) });
        status = answer.status;
        const text = await answer.text();
        if (status !== 200) {
          try {
            const body = JSON.parse(text);
            if (!/^E_[A-Z_]+$/.test(body?.error?.code ?? '') || body.request_id !== answer.headers.get('x-request-id')) log.badShapes.push(`${status} ${text.slice(0, 120)}`);
          } catch {
            log.badShapes.push(`${status} ${text.slice(0, 120)}`);
          }
        }
      } catch (error) {
        status = 0;
        log.badShapes.push(`no answer: ${(error as Error).message}`);
      }
      const finished = performance.now();
      log.slowestMs = Math.max(log.slowestMs, finished - started);
      log.statuses.set(status, (log.statuses.get(status) ?? 0) + 1);
      if (status === 200) log.ok.push([started, finished]);
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }));
}

export const describeStatuses = (log: CallLog) => [...log.statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ');
