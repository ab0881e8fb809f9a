import { statSync } from 'node:fs';
import { loadTrustBundle, type TrustBundle } from './trust-bundle.ts';

/**
 * A trust bundle that follows its file, so `alga-host trust add|remove` applies to a running host
 * and runner without a restart (a removed key stops being trusted too). The file is looked at
 * (one stat) at most every `recheckMs` when the bundle is asked for, and read again only when it
 * changed; a file that does not exist (yet) means no trust bundle. An inline JSON value or a
 * parsed bundle never changes.
 */
export class TrustBundleSource {
  private bundle: TrustBundle | undefined;
  private signature = '';
  private checkedAt = -Infinity;
  private loadError: unknown;
  /** Goes up each time the bundle changes, so caches of bundles verified under it can be dropped. */
  generation = 0;

  constructor(
    readonly value: string | TrustBundle | undefined,
    private readonly recheckMs = 0,
  ) {
    if (typeof value === 'object') this.bundle = value;
    else if (typeof value === 'string' && value.trim().startsWith('{')) this.bundle = loadTrustBundle(value);
  }

  /** The file this source follows, if it follows one. */
  get path(): string | undefined {
    return typeof this.value === 'string' && !this.value.trim().startsWith('{') ? this.value.trim() : undefined;
  }

  /** The trust bundle now, or undefined when there is none; a file that changed into something invalid throws. */
  current(now = performance.now()): TrustBundle | undefined {
    const path = this.path;
    if (path === undefined) return this.bundle;
    if (now - this.checkedAt >= this.recheckMs) {
      this.checkedAt = now;
      this.refresh(path);
    }
    if (this.loadError) throw this.loadError;
    return this.bundle;
  }

  private refresh(path: string): void {
    let signature: string;
    try {
      const stat = statSync(path);
      signature = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
    } catch {
      signature = 'absent';
    }
    if (signature === this.signature) return;
    this.signature = signature;
    this.generation++;
    this.loadError = undefined;
    if (signature === 'absent') {
      this.bundle = undefined;
      return;
    }
    try {
      this.bundle = loadTrustBundle(path);
    } catch (error) {
      this.bundle = undefined;
      this.loadError = error;
    }
  }
}
