import { AlgaError } from '../../../lib/errors/index.ts';
import type { HostStore } from '../../core/store.ts';
import { retryDelayMs, type MailSettings } from './mail-settings.ts';
import { MailQueue, type MailJob } from './mail-queue.ts';
import type { LicenseRegistry, RegistryTenant } from './registry.ts';
import { MailSendError, type MailSender, type OutgoingMail } from './smtp-sender.ts';

/**
 * Delivers install-code mail (see ./mail-queue.ts for the states). Every attempt is one step
 * that mints the code and sends it: the tenant's unclaimed codes are revoked, a new code is
 * minted and its hash stored (one transaction), the mail goes to the SMTP server with the code
 * held only in memory, and the outcome is recorded (another transaction). A failed attempt
 * revokes its code; so does a crash mid-send, found as a `sending` job when the control plane
 * starts again. Failed attempts back off (ALGA_MAIL_RETRY_SECONDS, doubling, up to an hour);
 * 5xx answers and the last attempt make a dead letter.
 */

export interface ComposeInput {
  job: MailJob;
  tenant: RegistryTenant;
  code: string;
  codeExpiresAt: string;
}

export interface DeliveryLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface MailDeliveryOptions {
  store: HostStore;
  registry: LicenseRegistry;
  settings: MailSettings;
  /** Undefined: no SMTP server (an air-gapped control plane); mail waits in the outbox. */
  sender?: MailSender;
  codeTtlMs: number;
  compose(input: ComposeInput): OutgoingMail;
  log: DeliveryLog;
  /** Counts attempts by result: sent, retry, failed (dead letter), interrupted. */
  onAttempt?(result: 'sent' | 'retry' | 'failed' | 'interrupted'): void;
}

/** A code minted for an attempt; it exists only here until the mail is sent. */
interface Minted {
  job: MailJob;
  tenant: RegistryTenant;
  code: string;
  codeExpiresAt: string;
}

export class MailDelivery {
  readonly queue: MailQueue;
  private readonly inFlight = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private ticking: Promise<void> | undefined;
  private readonly wakeMs: number;

  constructor(private readonly options: MailDeliveryOptions) {
    this.queue = new MailQueue(options.store);
    this.wakeMs = Math.min(30_000, Math.max(50, options.settings.retryDelayMs));
  }

  get transport(): 'smtp' | 'outbox' {
    return this.options.sender ? 'smtp' : 'outbox';
  }

  /**
   * A new install-code mail for the tenant; call inside the transaction that registers or
   * re-issues. Unfinished earlier mail is superseded and the tenant's unclaimed codes revoked.
   * With SMTP the first code is minted here too (its expiry is known to the caller); `dispatch`
   * sends it once the transaction has committed.
   */
  enqueue(tenant: RegistryTenant, input: { reissue: boolean; baseUrl: string; subject: string }): { job: MailJob; revokedCodes: number; dispatch(): void } {
    const { store, registry } = this.options;
    return store.transaction(() => {
      for (const earlier of this.queue.unfinishedJobs()) {
        if (earlier.tenantId === tenant.id) this.queue.put({ ...earlier, status: 'superseded', nextAttemptAt: undefined });
      }
      const revokedCodes = registry.revokeUnclaimedCodes(tenant.id);
      const job = this.queue.put(
        this.queue.newJob({ tenantId: tenant.id, to: tenant.contactEmail, subject: input.subject, reissue: input.reissue, baseUrl: input.baseUrl, status: this.options.sender ? 'queued' : 'outbox' }),
      );
      if (!this.options.sender) return { job, revokedCodes, dispatch: () => {} };
      const minted = this.mint(job, tenant);
      return { job: minted.job, revokedCodes, dispatch: () => void this.send(minted) };
    });
  }

  /**
   * Starts the delivery loop; mail left `sending` by a crash is retried with a new code. Without
   * SMTP (now), mail still waiting to be sent goes to the outbox instead, its code revoked.
   */
  start(): void {
    if (!this.options.sender) {
      this.options.store.transaction(() => {
        for (const job of this.queue.unfinishedJobs()) {
          if (job.status === 'outbox') continue;
          this.options.registry.revokeCode(job.codeKey);
          this.queue.put({ ...job, status: 'outbox', nextAttemptAt: undefined });
        }
      });
      return;
    }
    this.options.store.transaction(() => {
      for (const job of this.queue.unfinishedJobs()) {
        if (job.status !== 'sending') continue;
        this.options.registry.revokeCode(job.codeKey);
        this.queue.put(this.afterFailure(job, 'interrupted: the control plane stopped while sending; a new code is sent', false));
        this.options.onAttempt?.('interrupted');
      }
    });
    this.arm(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.options.sender?.close();
    await this.ticking;
  }

  /** An air-gapped control plane: the mail, with a freshly minted code, once. */
  release(id: string): { job: MailJob; mail: OutgoingMail } {
    const { store, registry } = this.options;
    const minted = store.transaction(() => {
      const job = this.queue.get(id);
      if (!job) throw new AlgaError('E_MAIL_NOT_FOUND', `Mail ${id}.`);
      if (job.status !== 'outbox') throw new AlgaError('E_MAIL_STATE', `Mail ${id} is ${job.status}; only an outbox mail is released, once. POST /install-codes/reissue makes a new one.`);
      const tenant = registry.getTenant(job.tenantId);
      if (!tenant) throw new AlgaError('E_TENANT_NOT_FOUND', `Tenant ${job.tenantId}.`);
      registry.revokeUnclaimedCodes(tenant.id);
      const { code, key, record } = registry.mintCode(tenant, this.options.codeTtlMs);
      const released = this.queue.put({ ...job, status: 'released', releasedAt: new Date().toISOString(), attempts: job.attempts + 1, codeKey: key, codeExpiresAt: record.expiresAt });
      return { job: released, tenant, code, codeExpiresAt: record.expiresAt };
    });
    return { job: minted.job, mail: this.options.compose(minted) };
  }

  /** A dead letter back into the queue (attempts start over); without SMTP it goes to the outbox. */
  retry(id: string): MailJob {
    const job = this.options.store.transaction(() => {
      const current = this.queue.get(id);
      if (!current) throw new AlgaError('E_MAIL_NOT_FOUND', `Mail ${id}.`);
      if (current.status !== 'failed') throw new AlgaError('E_MAIL_STATE', `Mail ${id} is ${current.status}; only a failed mail is retried.`);
      return this.queue.put({ ...current, status: this.options.sender ? 'queued' : 'outbox', attempts: 0, nextAttemptAt: new Date().toISOString() });
    });
    this.arm(0);
    return job;
  }

  /** Mints the attempt's code (revoking the tenant's unclaimed ones) and marks the job sending. Synchronous. */
  private mint(job: MailJob, tenant: RegistryTenant): Minted {
    const { registry } = this.options;
    registry.revokeUnclaimedCodes(tenant.id);
    const { code, key, record } = registry.mintCode(tenant, this.options.codeTtlMs);
    const sending = this.queue.put({ ...job, status: 'sending', attempts: job.attempts + 1, nextAttemptAt: undefined, codeKey: key, codeExpiresAt: record.expiresAt });
    return { job: sending, tenant, code, codeExpiresAt: record.expiresAt };
  }

  private afterFailure(job: MailJob, error: string, permanent: boolean): MailJob {
    const dead = permanent || job.attempts >= this.options.settings.maxAttempts;
    return {
      ...job,
      status: dead ? 'failed' : 'queued',
      lastError: error,
      nextAttemptAt: dead ? undefined : new Date(Date.now() + retryDelayMs(job.attempts, this.options.settings)).toISOString(),
    };
  }

  private async send(minted: Minted): Promise<void> {
    const { job } = minted;
    const { store, registry, log } = this.options;
    this.inFlight.add(job.id);
    let outcome: { ok: true } | { ok: false; error: MailSendError };
    try {
      await this.options.sender!.send(this.options.compose(minted));
      outcome = { ok: true };
    } catch (error) {
      outcome = { ok: false, error: error instanceof MailSendError ? error : new MailSendError((error as Error).message, false) };
    } finally {
      this.inFlight.delete(job.id);
    }
    // Stopped mid-send: the job stays `sending` and the next start retries it with a new code.
    if (this.stopped) return;
    const next = store.transaction(() => {
      const current = this.queue.get(job.id);
      if (!current || current.status !== 'sending' || current.codeKey !== job.codeKey) return current; // superseded meanwhile
      if (outcome.ok) return this.queue.put({ ...current, status: 'sent', sentAt: new Date().toISOString(), lastError: undefined });
      registry.revokeCode(current.codeKey);
      return this.queue.put(this.afterFailure(current, outcome.error.message, outcome.error.permanent));
    });
    const context = { mailId: job.id, tenantId: job.tenantId, attempt: job.attempts };
    if (outcome.ok) {
      this.options.onAttempt?.('sent');
      log.info(context, 'install-code mail sent');
    } else if (next?.status === 'failed') {
      this.options.onAttempt?.('failed');
      log.error({ ...context, error: outcome.error.message }, 'install-code mail not delivered: dead letter (GET /outbox?status=failed; POST /outbox/:id/retry)');
    } else {
      this.options.onAttempt?.('retry');
      log.warn({ ...context, error: outcome.error.message, nextAttemptAt: next?.nextAttemptAt }, 'install-code mail not delivered; retrying');
    }
    this.arm(0);
  }

  private arm(delay: number): void {
    if (this.stopped || !this.options.sender) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.ticking ??= this.tick().finally(() => {
        this.ticking = undefined;
      });
    }, Math.max(0, Math.min(delay, this.wakeMs)));
    this.timer.unref();
  }

  /** Attempts every due job, one after another; then sleeps until the next is due (or a wake). */
  private async tick(): Promise<void> {
    const { store, registry, log } = this.options;
    let nextDue = Number.POSITIVE_INFINITY;
    for (const pending of this.queue.unfinishedJobs()) {
      if (this.stopped) return;
      if (pending.status !== 'queued' || this.inFlight.has(pending.id)) continue;
      const due = Date.parse(pending.nextAttemptAt ?? pending.createdAt);
      if (due > Date.now()) {
        nextDue = Math.min(nextDue, due);
        continue;
      }
      const minted = store.transaction(() => {
        const job = this.queue.get(pending.id);
        if (!job || job.status !== 'queued') return undefined;
        const tenant = registry.getTenant(job.tenantId);
        if (!tenant) {
          this.queue.put({ ...job, status: 'failed', lastError: `tenant ${job.tenantId} no longer exists` });
          return undefined;
        }
        return this.mint(job, tenant);
      });
      if (minted) await this.send(minted).catch((error: unknown) => log.error({ err: error, mailId: pending.id }, 'install-code mail attempt failed unexpectedly'));
    }
    this.arm(Number.isFinite(nextDue) ? nextDue - Date.now() : this.wakeMs);
  }
}
