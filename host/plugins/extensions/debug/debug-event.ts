/** One debug event as the SSE stream sends it (the runner's ExtDebugEvent fields). */
export interface DebugStreamEvent {
  /** Redis stream id (`1700000000000-0`) or the runner ring's sequence number, as text. */
  id: string;
  ts?: string;
  level?: string;
  stream?: string;
  request?: string;
  version?: string;
  content_hash?: string;
  message?: string;
  truncated?: boolean;
  [field: string]: unknown;
}

/**
 * Where a debug session reads events from. Resolves once the source is connected and has fixed
 * its starting point (so nothing written after that is missed); the events end when `signal` aborts.
 */
export type DebugEventSource = (signal: AbortSignal) => Promise<AsyncIterable<DebugStreamEvent>>;

/** A Redis stream entry's flat field list as an event. */
export function eventFromStreamEntry(id: string, fields: string[]): DebugStreamEvent {
  const event: DebugStreamEvent = { id };
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index];
    const value = fields[index + 1];
    if (name === 'id') continue;
    event[name] = name === 'truncated' ? value === 'true' : value;
  }
  return event;
}
