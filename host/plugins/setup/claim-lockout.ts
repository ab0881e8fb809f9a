/**
 * The global cap on wrong setup tokens: after `maxFailures` wrong tokens within `windowMs`, from
 * all clients together, remote claims are refused for `lockMs` whatever token they carry. The
 * per-client budget stops one client; this stops many (a botnet, or addresses rotated behind a
 * proxy). It is bound to the token it protects: a fresh token (`alga-host reset-claim`, or a
 * restart) starts with a clean count, and the headless `alga-host setup` on the console never
 * goes through it — so remote attempts can never lock out the operator at the console.
 */

export interface LockoutSettings {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export class ClaimLockout {
  private tokenHash: string | undefined;
  private failures: number[] = [];
  private lockedUntil = 0;

  constructor(private readonly settings: LockoutSettings, private readonly now: () => number = Date.now) {}

  /** Forgets everything about an earlier token. */
  private follow(tokenHash: string | undefined): void {
    if (tokenHash === this.tokenHash) return;
    this.tokenHash = tokenHash;
    this.failures = [];
    this.lockedUntil = 0;
  }

  /** Until when claims against this token are refused (ms since the epoch), or undefined. */
  lockedUntilFor(tokenHash: string | undefined): number | undefined {
    this.follow(tokenHash);
    return this.lockedUntil > this.now() ? this.lockedUntil : undefined;
  }

  /** Counts a wrong token; returns the lock's end when this one started a lock. */
  recordFailure(tokenHash: string | undefined): number | undefined {
    this.follow(tokenHash);
    const now = this.now();
    this.failures = this.failures.filter((at) => at > now - this.settings.windowMs);
    this.failures.push(now);
    if (this.failures.length < this.settings.maxFailures || this.lockedUntil > now) return undefined;
    this.failures = [];
    this.lockedUntil = now + this.settings.lockMs;
    return this.lockedUntil;
  }
}
