import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { isContentHash } from '../../lib/bundle/index.ts';

export interface PreparedEntry {
  content_hash: string;
  memory_mb?: number;
}

/**
 * The versions the runner was asked to prepare, most recent last, kept in a small file so a
 * restarted runner prepares them again before their first request. Bounded; a file that cannot
 * be read counts as empty.
 */
export class PreparedList {
  private entries: PreparedEntry[];

  constructor(
    private readonly path: string,
    private readonly max: number,
  ) {
    this.entries = this.read();
  }

  get all(): readonly PreparedEntry[] {
    return this.entries;
  }

  remember(entry: PreparedEntry): void {
    if (this.max === 0) return;
    this.entries = [...this.entries.filter((known) => known.content_hash !== entry.content_hash || known.memory_mb !== entry.memory_mb), entry].slice(-this.max);
    try {
      writeFileSync(`${this.path}.tmp`, JSON.stringify(this.entries), { mode: 0o600 });
      renameSync(`${this.path}.tmp`, this.path);
    } catch {
      // Only a warm start is lost.
    }
  }

  private read(): PreparedEntry[] {
    if (this.max === 0) return [];
    try {
      const parsed = JSON.parse(readFileSync(this.path, 'utf8')) as unknown;
      if (!Array.isArray(parsed)) return [];
      return parsed
        .filter((entry): entry is PreparedEntry => typeof entry?.content_hash === 'string' && isContentHash(entry.content_hash) && (entry.memory_mb === undefined || (Number.isInteger(entry.memory_mb) && entry.memory_mb > 0)))
        .slice(-this.max);
    } catch {
      return [];
    }
  }
}
