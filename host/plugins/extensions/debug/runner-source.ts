import type { DebugEventSource, DebugStreamEvent } from './debug-event.ts';

export interface RunnerSourceOptions {
  /** The runner's base URL, looked up on every poll (the runner may restart elsewhere). */
  baseUrl: () => string | undefined;
  serviceToken: string;
  tenant: string;
  extension: string;
  after?: number;
  intervalMs?: number;
}

/**
 * Events from the runner's in-memory ring (`GET /v1/debug/events?…&after=`), polled as JSON.
 * The first poll happens when the source opens, so a runner that refuses shows up at once.
 */
export function runnerDebugSource(options: RunnerSourceOptions): DebugEventSource {
  const interval = options.intervalMs ?? 1_000;

  const poll = async (after: number | undefined, signal: AbortSignal): Promise<DebugStreamEvent[]> => {
    const baseUrl = options.baseUrl();
    if (!baseUrl) throw new Error('no runner is up');
    const url = new URL('/v1/debug/events', baseUrl);
    url.searchParams.set('tenant', options.tenant);
    url.searchParams.set('extension', options.extension);
    if (after !== undefined) url.searchParams.set('after', String(after));
    const response = await fetch(url, { headers: { authorization: `Bearer ${options.serviceToken}`, accept: 'application/json' }, signal });
    if (!response.ok) throw new Error(`the runner answered ${response.status}`);
    const body = (await response.json()) as { events?: Array<Record<string, unknown>> } | Array<Record<string, unknown>>;
    const events = Array.isArray(body) ? body : (body.events ?? []);
    return events.map((event) => ({ ...event, id: String(event.id) }) as DebugStreamEvent);
  };

  return async (signal) => {
    const first = await poll(options.after, signal);
    return read(first, signal);
  };

  async function* read(first: DebugStreamEvent[], signal: AbortSignal) {
    let after = options.after ?? 0;
    let batch = first;
    try {
      while (!signal.aborted) {
        for (const event of batch) {
          const id = Number(event.id);
          if (!Number.isFinite(id) || id <= after) continue;
          after = id;
          yield event;
        }
        await sleep(interval, signal);
        if (signal.aborted) return;
        batch = await poll(after, signal);
      }
    } catch (error) {
      if (!signal.aborted) throw error;
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
