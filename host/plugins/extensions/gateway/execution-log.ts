import type { HostStore } from '../../../core/store.ts';

/** One gateway call: what ran, for whom, how it ended. No bodies, headers or secrets. */
export interface ExecutionRecord {
  requestId: string;
  at: string;
  tenantId: string;
  extensionId: string;
  version?: string;
  method: string;
  path: string;
  status: number;
  /** Catalog code when the call failed (the runner's code when it came from the runner). */
  error?: string;
  /** Why it failed (or what went wrong on the way), in words for the tenant admin; see execution-cause.ts. */
  cause?: string;
  /** Host calls the runner refused for lack of a grant or an egress entry (the first few). */
  denials?: Array<{ capability: string; reason: string }>;
  /** Denials past those listed. */
  denialsDropped?: number;
  durationMs: number;
  runnerDurationMs?: number;
  memoryBytes?: number;
  egressBytes?: number;
}

export interface UsageRow {
  day: string;
  requests: number;
  errors: number;
  rateLimited: number;
  durationMs: number;
  egressBytes: number;
}

type ExecutionKey = [string, string, number, string];
type UsageKey = [string, string, string];

const emptyUsage = (day: string): UsageRow => ({ day, requests: 0, errors: 0, rateLimited: 0, durationMs: 0, egressBytes: 0 });

/**
 * The execution log (one row per gateway call) and daily usage per tenant and extension.
 * Rows and usage sums are kept in memory and written about once a second in one transaction
 * (and on every query and on close), so the hot path never waits for the disk.
 */
export class ExecutionLog {
  private readonly rows;
  private readonly usageDb;
  private pending = new Map<string, { key: UsageKey; delta: UsageRow }>();
  private pendingRows: { key: ExecutionKey; row: ExecutionRecord }[] = [];
  /** Rows recorded in the same millisecond keep their order: each key time is above the last one. */
  private lastKeyTime = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly store: HostStore, private readonly retentionMs = 7 * 24 * 60 * 60 * 1000) {
    this.rows = store.db<ExecutionRecord, ExecutionKey>('ext.executions');
    this.usageDb = store.db<UsageRow, UsageKey>('ext.usage');
    this.timer = setInterval(() => this.flush(), 1000);
    this.timer.unref();
  }

  record(row: ExecutionRecord): void {
    const keyTime = Math.max(Date.parse(row.at), this.lastKeyTime + 0.001);
    this.lastKeyTime = keyTime;
    this.pendingRows.push({ key: [row.tenantId, row.extensionId, keyTime, row.requestId], row });
    const day = row.at.slice(0, 10);
    const id = `${row.tenantId}\u0000${row.extensionId}\u0000${day}`;
    let entry = this.pending.get(id);
    if (!entry) {
      entry = { key: [row.tenantId, row.extensionId, day], delta: emptyUsage(day) };
      this.pending.set(id, entry);
    }
    entry.delta.requests++;
    if (row.status === 429) entry.delta.rateLimited++;
    else if (row.status >= 500 || row.error) entry.delta.errors++;
    entry.delta.durationMs += row.durationMs;
    entry.delta.egressBytes += row.egressBytes ?? 0;
  }

  /** Newest first. */
  list(tenantId: string, extensionId: string, options: { limit?: number; before?: string } = {}): ExecutionRecord[] {
    this.flush();
    const limit = Math.min(Math.max(Number.isFinite(options.limit) ? options.limit! : 100, 1), 1000);
    const before = options.before ? Date.parse(options.before) : Number.MAX_SAFE_INTEGER;
    const result: ExecutionRecord[] = [];
    for (const { value } of this.rows.getRange({ start: [tenantId, extensionId, before], end: [tenantId, extensionId, 0], reverse: true })) {
      result.push(value);
      if (result.length >= limit) break;
    }
    return result;
  }

  usage(tenantId: string, extensionId: string, days = 30): UsageRow[] {
    this.flush();
    const since = new Date(Date.now() - Math.max(1, Math.min(days, 366)) * 86_400_000).toISOString().slice(0, 10);
    return [...this.usageDb.getRange({ start: [tenantId, extensionId, since], end: [tenantId, extensionId, '\uffff'] })].map(({ value }) => value);
  }

  flush(): void {
    if (this.pending.size === 0 && this.pendingRows.length === 0) return;
    const batch = this.pending;
    const rows = this.pendingRows;
    this.pending = new Map();
    this.pendingRows = [];
    this.store.transaction(() => {
      for (const { key, row } of rows) this.rows.putSync(key, row);
      for (const { key, delta } of batch.values()) {
        const current = this.usageDb.get(key) ?? emptyUsage(delta.day);
        this.usageDb.putSync(key, {
          day: delta.day,
          requests: current.requests + delta.requests,
          errors: current.errors + delta.errors,
          rateLimited: current.rateLimited + delta.rateLimited,
          durationMs: current.durationMs + delta.durationMs,
          egressBytes: current.egressBytes + delta.egressBytes,
        });
      }
    });
  }

  /** Removes rows older than the retention period. */
  prune(): number {
    const cutoff = Date.now() - this.retentionMs;
    let removed = 0;
    for (const { key } of this.rows.getRange({})) {
      if ((key as ExecutionKey)[2] < cutoff) {
        this.rows.removeSync(key);
        removed++;
      }
    }
    return removed;
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
