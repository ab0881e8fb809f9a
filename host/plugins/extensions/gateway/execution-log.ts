import { Counter, Gauge, type Registry } from 'prom-client';
import { storageFaultOf, type StorageFault } from '../../../../lib/storage-faults.ts';
import type { ExecutionLogLimits } from '../../../core/config.ts';
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

/** `[tenant, extension, keyTime, requestId]`: one tenant's calls of one extension are a key range. */
type ExecutionKey = [string, string, number, string];
/** `[keyTime, tenant, extension, requestId]`: the same rows oldest first, for the age and size caps. */
type ByTimeKey = [number, string, string, string];
type UsageKey = [string, string, string];

export const executionsDbName = 'ext.executions';
export const executionsByTimeDbName = 'ext.executions.by-time';

export const defaultExecutionLogLimits: ExecutionLogLimits = { retentionMs: 7 * 86_400_000, maxRows: 1_000_000, maxBytes: 256 * 1024 * 1024 };

export interface ExecutionLogOptions {
  /** Caps on what is kept; 0 turns a cap off. */
  limits?: Partial<ExecutionLogLimits>;
  /** Where the log's counters go (`alga_execution_log_*`). */
  metrics?: Registry;
  log?: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** Rows held in memory while the disk refuses writes; beyond this the oldest are dropped (and counted). */
  maxPendingRows?: number;
  flushIntervalMs?: number;
}

const emptyUsage = (day: string): UsageRow => ({ day, requests: 0, errors: 0, rateLimited: 0, durationMs: 0, egressBytes: 0 });

function addUsage(into: UsageRow, delta: UsageRow): void {
  into.requests += delta.requests;
  into.errors += delta.errors;
  into.rateLimited += delta.rateLimited;
  into.durationMs += delta.durationMs;
  into.egressBytes += delta.egressBytes;
}

/** Bytes of the pages a sub-database's tree holds (what it adds to data.mdb). */
function treeBytes(stats: Record<string, number>): number {
  return ((stats.treeBranchPageCount ?? 0) + (stats.treeLeafPageCount ?? 0) + (stats.overflowPages ?? 0)) * (stats.pageSize ?? 4096);
}

/** Most rows one trim removes in one transaction, so a large backlog is worked off over several flushes. */
const trimBatchRows = 5_000;
/** A size trim goes this far below the cap, so it does not run again on the next flush. */
const trimTarget = 0.95;

/**
 * The execution log (one row per gateway call) and daily usage per tenant and extension.
 * Rows and usage sums are kept in memory and written about once a second in one transaction
 * (and on every query and on close), so the hot path never waits for the disk.
 *
 * What it keeps is bounded by age, row count and bytes (`limits`): after each write the oldest
 * rows beyond any cap are removed, so the store stops growing once a cap is reached (LMDB reuses
 * the freed pages). When the disk refuses a write (full, or failing), the rows stay in memory and
 * the next flush tries again; past `maxPendingRows` the oldest are dropped and counted in
 * `alga_execution_log_rows_dropped_total`. Usage sums are never dropped. Nothing here throws
 * out of the timer.
 */
export class ExecutionLog {
  private readonly rows;
  private readonly byTime;
  private readonly usageDb;
  private readonly limits: ExecutionLogLimits;
  private readonly maxPendingRows: number;
  private pending = new Map<string, { key: UsageKey; delta: UsageRow }>();
  private pendingRows: { key: ExecutionKey; row: ExecutionRecord }[] = [];
  /** Rows recorded in the same millisecond keep their order: each key time is above the last one. */
  private lastKeyTime = 0;
  /** The fault the last flush hit, until a flush succeeds again (logged once per episode). */
  private fault: StorageFault | 'error' | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly dropped?: Counter<'reason'>;
  private readonly trimmed?: Counter<'reason'>;

  constructor(private readonly store: HostStore, private readonly options: ExecutionLogOptions = {}) {
    this.rows = store.db<ExecutionRecord, ExecutionKey>(executionsDbName);
    this.byTime = store.db<null, ByTimeKey>(executionsByTimeDbName);
    this.usageDb = store.db<UsageRow, UsageKey>('ext.usage');
    this.limits = { ...defaultExecutionLogLimits, ...options.limits };
    this.maxPendingRows = options.maxPendingRows ?? 50_000;
    if (options.metrics) {
      const registers = [options.metrics];
      this.dropped = new Counter({ name: 'alga_execution_log_rows_dropped_total', help: 'Execution-log rows dropped before reaching the store, by reason (disk_full, disk_failed, write_failed).', labelNames: ['reason'], registers });
      this.trimmed = new Counter({ name: 'alga_execution_log_rows_trimmed_total', help: 'Execution-log rows removed by the age, row or size cap.', labelNames: ['reason'], registers });
      const self = this;
      new Gauge({ name: 'alga_execution_log_pending_rows', help: 'Execution-log rows held in memory, not yet in the store (grows while the disk refuses writes).', registers, collect() { this.set(self.pendingRows.length); } });
      new Gauge({ name: 'alga_execution_log_stored_rows', help: 'Execution-log rows in the store.', registers, collect() { this.set(self.storedStats().rows); } });
      new Gauge({ name: 'alga_execution_log_stored_bytes', help: 'Bytes of store pages the execution log holds (rows and time index).', registers, collect() { this.set(self.storedStats().bytes); } });
    }
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  record(row: ExecutionRecord): void {
    const keyTime = Math.max(Date.parse(row.at), this.lastKeyTime + 0.001);
    this.lastKeyTime = keyTime;
    this.pendingRows.push({ key: [row.tenantId, row.extensionId, keyTime, row.requestId], row });
    if (this.pendingRows.length > this.maxPendingRows) this.dropOldestPending();
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

  /** Newest first. Rows the disk has not taken yet are included. */
  list(tenantId: string, extensionId: string, options: { limit?: number; before?: string } = {}): ExecutionRecord[] {
    this.flush();
    const limit = Math.min(Math.max(Number.isFinite(options.limit) ? options.limit! : 100, 1), 1000);
    const before = options.before ? Date.parse(options.before) : Number.MAX_SAFE_INTEGER;
    const result: { time: number; row: ExecutionRecord }[] = [];
    for (const { key, value } of this.rows.getRange({ start: [tenantId, extensionId, before], end: [tenantId, extensionId, 0], reverse: true })) {
      result.push({ time: key[2], row: value });
      if (result.length >= limit) break;
    }
    const unwritten = this.pendingRows.filter(({ key }) => key[0] === tenantId && key[1] === extensionId && key[2] < before);
    if (unwritten.length === 0) return result.map(({ row }) => row);
    result.push(...unwritten.map(({ key, row }) => ({ time: key[2], row })));
    return result.sort((a, b) => b.time - a.time).slice(0, limit).map(({ row }) => row);
  }

  usage(tenantId: string, extensionId: string, days = 30): UsageRow[] {
    this.flush();
    const since = new Date(Date.now() - Math.max(1, Math.min(days, 366)) * 86_400_000).toISOString().slice(0, 10);
    const byDay = new Map<string, UsageRow>();
    for (const { value } of this.usageDb.getRange({ start: [tenantId, extensionId, since], end: [tenantId, extensionId, '\uffff'] })) byDay.set(value.day, { ...value });
    for (const { key, delta } of this.pending.values()) {
      if (key[0] !== tenantId || key[1] !== extensionId || key[2] < since) continue;
      const row = byDay.get(key[2]) ?? emptyUsage(key[2]);
      addUsage(row, delta);
      byDay.set(key[2], row);
    }
    return [...byDay.values()].sort((a, b) => a.day.localeCompare(b.day));
  }

  /** Writes what is pending, then applies the caps. Returns false when the disk refused the write (the rows are kept for the next try). Never throws. */
  flush(): boolean {
    if (this.pending.size === 0 && this.pendingRows.length === 0) return true;
    const usage = this.pending;
    const rows = this.pendingRows;
    this.pending = new Map();
    this.pendingRows = [];
    try {
      this.store.transaction(() => {
        for (const { key, row } of rows) {
          this.rows.putSync(key, row);
          this.byTime.putSync([key[2], key[0], key[1], key[3]], null);
        }
        for (const { key, delta } of usage.values()) {
          const current = this.usageDb.get(key) ?? emptyUsage(delta.day);
          addUsage(current, delta);
          this.usageDb.putSync(key, current);
        }
      });
    } catch (error) {
      this.keepForLater(rows, usage, error);
      return false;
    }
    if (this.fault) {
      this.options.log?.info({ previousFault: this.fault }, 'execution log writes resumed');
      this.fault = undefined;
    }
    this.trim(rows.length);
    return true;
  }

  /** Rows and bytes the log holds in the store now. */
  storedStats(): { rows: number; bytes: number } {
    const rows = (this.rows as unknown as { getStats(): Record<string, number> }).getStats();
    const index = (this.byTime as unknown as { getStats(): Record<string, number> }).getStats();
    return { rows: rows.entryCount ?? 0, bytes: treeBytes(rows) + treeBytes(index) };
  }

  /**
   * Removes the oldest rows beyond the age, row and size caps, at most a few thousand per call
   * (more when more than that came in since the last call). Returns how many it removed.
   */
  trim(incomingRows = 0): number {
    const batch = Math.max(trimBatchRows, incomingRows * 2);
    let removed = 0;
    try {
      if (this.limits.retentionMs > 0) removed += this.removeOldest(batch, 'age', Date.now() - this.limits.retentionMs);
      const { rows, bytes } = this.storedStats();
      let excess = 0;
      if (this.limits.maxRows > 0 && rows > this.limits.maxRows) excess = Math.max(excess, rows - Math.floor(this.limits.maxRows * trimTarget));
      if (this.limits.maxBytes > 0 && bytes > this.limits.maxBytes && rows > 0) excess = Math.max(excess, Math.ceil(rows * (1 - (this.limits.maxBytes * trimTarget) / bytes)));
      if (excess > 0) removed += this.removeOldest(Math.min(excess, batch), rows > this.limits.maxRows && this.limits.maxRows > 0 ? 'rows' : 'bytes');
    } catch (error) {
      // A trim the disk refuses is retried after the next write; the rows stay, nothing is lost.
      if (!storageFaultOf(error, this.store.path)) this.options.log?.error({ err: error }, 'execution log trim failed');
    }
    return removed;
  }

  /** Removes up to `count` of the oldest rows (only those older than `before`, when given). */
  private removeOldest(count: number, reason: 'age' | 'rows' | 'bytes', before?: number): number {
    const keys = [...this.byTime.getKeys({ ...(before === undefined ? {} : { end: [before] }), limit: count })] as ByTimeKey[];
    if (keys.length === 0) return 0;
    this.store.transaction(() => {
      for (const key of keys) {
        this.rows.removeSync([key[1], key[2], key[0], key[3]]);
        this.byTime.removeSync(key);
      }
    });
    this.trimmed?.inc({ reason }, keys.length);
    return keys.length;
  }

  /** A write that failed: storage faults keep the rows for the next flush; anything else drops them (a bad row must not block the log). */
  private keepForLater(rows: { key: ExecutionKey; row: ExecutionRecord }[], usage: Map<string, { key: UsageKey; delta: UsageRow }>, error: unknown): void {
    for (const [id, entry] of usage) {
      const newer = this.pending.get(id);
      if (newer) addUsage(entry.delta, newer.delta);
      this.pending.set(id, entry);
    }
    const fault = storageFaultOf(error, this.store.path);
    if (!fault) {
      this.dropped?.inc({ reason: 'write_failed' }, rows.length);
      this.options.log?.error({ err: error, rows: rows.length }, 'execution log write failed; these rows are dropped');
      this.fault = 'error';
      return;
    }
    this.pendingRows = rows.concat(this.pendingRows);
    if (this.pendingRows.length > this.maxPendingRows) this.dropOldestPending();
    if (this.fault !== fault) {
      this.options.log?.warn({ fault, pendingRows: this.pendingRows.length, maxPendingRows: this.maxPendingRows }, `the disk refused the execution log's write (${fault}); rows are held in memory and written when it takes them again`);
      this.fault = fault;
    }
  }

  private dropOldestPending(): void {
    const excess = this.pendingRows.length - this.maxPendingRows;
    if (excess <= 0) return;
    this.pendingRows.splice(0, excess);
    this.dropped?.inc({ reason: this.fault === 'failed' ? 'disk_failed' : this.fault === 'full' ? 'disk_full' : 'backlog' }, excess);
  }

  close(): void {
    clearInterval(this.timer);
    this.flush();
  }
}
