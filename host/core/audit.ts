import { randomInt } from 'node:crypto';
import type { HostStore } from './store.ts';

/** One security-relevant action: who did what to which target, and how it ended. Never holds secrets. */
export interface AuditEntry {
  at: string;
  action: string;
  outcome: 'ok' | 'denied' | 'failed';
  /** `user:<id>`, `token:<id>`, `system` or `anonymous`. */
  actor: string;
  tenantId?: string;
  target?: string;
  detail?: Record<string, unknown>;
}

export type AuditInput = Omit<AuditEntry, 'at' | 'outcome' | 'actor'> & { outcome?: AuditEntry['outcome']; actor?: string };

export interface AuditQuery {
  tenantId?: string;
  action?: string;
  /** Only entries at or after this ISO time. */
  since?: string;
  limit?: number;
}

export interface AuditLog {
  record(entry: AuditInput): AuditEntry;
  /** Newest first. */
  list(query?: AuditQuery): AuditEntry[];
}

type AuditKey = [number, number];

export function createAuditLog(store: HostStore): AuditLog {
  const db = store.db<AuditEntry, AuditKey>('core.audit');
  // Operator commands write to the same store as a running host: a random start keeps two
  // processes from writing the same [millisecond, sequence] key.
  let sequence = randomInt(1_000_000);
  return {
    record(input) {
      const now = Date.now();
      const entry: AuditEntry = { ...input, at: new Date(now).toISOString(), outcome: input.outcome ?? 'ok', actor: input.actor ?? 'system' };
      db.putSync([now, sequence++ % 1_000_000], entry);
      return entry;
    },
    list(query = {}) {
      const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
      const since = query.since ? Date.parse(query.since) : 0;
      const result: AuditEntry[] = [];
      for (const { value } of db.getRange({ reverse: true, start: [Number.MAX_SAFE_INTEGER], end: [since] })) {
        if (query.tenantId && value.tenantId !== query.tenantId) continue;
        if (query.action && value.action !== query.action) continue;
        result.push(value);
        if (result.length >= limit) break;
      }
      return result;
    },
  };
}
