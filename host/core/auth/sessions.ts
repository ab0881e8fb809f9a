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
export const DEFAULT_SESSION_TTL_MS = 12 * 60 * 60 * 1000;

export class Sessions {
  private readonly db;

  constructor(store: HostStore, private readonly ttlMs = DEFAULT_SESSION_TTL_MS) {
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
    if (Date.parse(record.expiresAt) <= Date.now()) {
      this.db.removeSync(key);
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

  get ttlSeconds(): number {
    return Math.floor(this.ttlMs / 1000);
  }
}
