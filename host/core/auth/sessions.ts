import { randomBytes } from 'node:crypto';
import type { HostStore } from '../store.ts';
import { hashToken } from './api-tokens.ts';

/** Browser sessions: a random id in a signed cookie; the store keeps only the id's SHA-256. */

export interface SessionRecord {
  userId: string;
  createdAt: string;
  expiresAt: string;
}

export const SESSION_COOKIE = 'alga_session';
/**
 * The session cookie's name where the host is served over HTTPS. Browsers accept a `__Host-`
 * cookie only with `Secure`, `Path=/` and no `Domain`, and no other host name can set one, so a
 * page on a sibling host name (an extension UI origin under the same registrable domain) cannot
 * plant or shadow it. Plain http (loopback development) keeps the bare name: Safari drops
 * `Secure` cookies on http://localhost. There the UI origins' host names keep them apart (docs/ui.md).
 */
export const SECURE_SESSION_COOKIE = '__Host-alga_session';
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;
export const DEFAULT_SWEEP_BATCH_SIZE = 500;

const isExpired = (record: SessionRecord, now: number) => Date.parse(record.expiresAt) <= now;

export class Sessions {
  private readonly db;

  constructor(private readonly store: HostStore, private readonly ttlMs = DEFAULT_SESSION_TTL_MS) {
    this.db = store.db<SessionRecord, string>('core.sessions');
  }

  create(userId: string): { id: string; record: SessionRecord } {
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const record: SessionRecord = { userId, createdAt: new Date(now).toISOString(), expiresAt: new Date(now + this.ttlMs).toISOString() };
    this.db.putSync(hashToken(id), record);
    return { id, record };
  }

  resolve(id: string): SessionRecord | undefined {
    const key = hashToken(id);
    const record = this.db.get(key);
    if (!record) return undefined;
    if (isExpired(record, Date.now())) {
      // Best effort: refusing the session needs no write, so a disk that refuses one changes nothing (the sweep retries).
      try {
        this.db.removeSync(key);
      } catch {
        // left for the sweep
      }
      return undefined;
    }
    return record;
  }

  end(id: string): void {
    this.db.removeSync(hashToken(id));
  }

  /** Ends every session of a user (password change, user removal). */
  endAllFor(userId: string): void {
    for (const { key, value } of this.db.getRange({})) if (value.userId === userId) this.db.removeSync(key);
  }

  /** Ends every session (reset-claim); returns how many there were. Synchronous: compose it in a transaction. */
  endEvery(): number {
    let ended = 0;
    for (const key of [...this.db.getKeys({})]) ended += this.db.removeSync(key) ? 1 : 0;
    return ended;
  }

  /**
   * Deletes expired sessions (abandoned ones are otherwise never presented again, so never
   * removed). Reads `batchSize` rows at a time, deletes that batch's expired ones in one
   * transaction and yields to the event loop before the next, so a large backlog does not hold
   * the host up. `shouldStop` ends the pass between batches. Returns how many it deleted.
   */
  async sweepExpired(options: { batchSize?: number; shouldStop?: () => boolean } = {}): Promise<number> {
    const batchSize = Math.max(1, options.batchSize ?? DEFAULT_SWEEP_BATCH_SIZE);
    let deleted = 0;
    let after: string | undefined;
    while (!options.shouldStop?.()) {
      const rows = [...this.db.getRange(after === undefined ? { limit: batchSize } : { start: after, limit: batchSize + 1 })];
      const batch = after === undefined ? rows : rows.filter(({ key }) => key !== after).slice(0, batchSize);
      const now = Date.now();
      const expired = batch.filter(({ value }) => isExpired(value, now)).map(({ key }) => key);
      if (expired.length > 0) {
        deleted += this.store.transaction(() => {
          let count = 0;
          for (const key of expired) {
            const current = this.db.get(key);
            if (current && isExpired(current, now)) count += this.db.removeSync(key) ? 1 : 0;
          }
          return count;
        });
      }
      if (batch.length < batchSize) break;
      after = batch[batch.length - 1].key;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return deleted;
  }

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}
