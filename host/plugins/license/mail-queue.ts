import { randomBytes } from 'node:crypto';
import type { HostStore } from '../../core/store.ts';

/**
 * Install-code mail, as records that never hold the code or the text. A code exists only as a
 * hash in the code table; it is minted in the step that sends (or releases) the mail and lives in
 * memory until the SMTP server has it. A retry — after a failure, or after a crash mid-send —
 * revokes the code of the attempt before and mints a new one, so no code is ever kept to send
 * later, and at most one unclaimed code per tenant is live.
 *
 * States: `queued` (waiting for its next attempt) → `sending` (a code minted, the SMTP exchange
 * in flight) → `sent`, or back to `queued` (retry with backoff), or `failed` (a dead letter: 5xx
 * from the server, or out of attempts; the operator retries it). Without SMTP: `outbox` →
 * `released` (an operator took the mail, code included, once). A newer mail for the tenant
 * turns an unfinished one `superseded`.
 */

export type MailStatus = 'queued' | 'sending' | 'sent' | 'failed' | 'outbox' | 'released' | 'superseded';

export interface MailJob {
  /** `mail_<time, base36, fixed width><random>`: newest sorts last. */
  id: string;
  kind: 'install-code';
  tenantId: string;
  to: string;
  subject: string;
  /** From POST /install-codes/reissue (the text says earlier codes no longer work). */
  reissue: boolean;
  /** The control plane's base URL for the download link in the mail. */
  baseUrl: string;
  status: MailStatus;
  attempts: number;
  createdAt: string;
  nextAttemptAt?: string;
  lastError?: string;
  sentAt?: string;
  releasedAt?: string;
  /** The hash key of the code minted for the latest attempt (the code itself is never stored). */
  codeKey?: string;
  codeExpiresAt?: string;
}

/** What an operator may see of a mail: everything but the code and the text (neither is stored). */
export function publicMail(job: MailJob) {
  return {
    id: job.id,
    to: job.to,
    subject: job.subject,
    tenant_id: job.tenantId,
    status: job.status,
    attempts: job.attempts,
    created_at: job.createdAt,
    next_attempt_at: job.nextAttemptAt ?? null,
    last_error: job.lastError ?? null,
    sent_at: job.sentAt ?? null,
    released_at: job.releasedAt ?? null,
    install_code_expires_at: job.codeExpiresAt ?? null,
  };
}

const UNFINISHED: ReadonlySet<MailStatus> = new Set(['queued', 'sending', 'outbox']);

export class MailQueue {
  private readonly jobs;
  /** Ids of unfinished jobs, so the delivery loop never scans every mail ever sent. */
  private readonly unfinished;

  constructor(store: HostStore) {
    this.jobs = store.db<MailJob, string>('license.mail');
    this.unfinished = store.db<string, string>('license.mail-unfinished');
  }

  newJob(input: Pick<MailJob, 'tenantId' | 'to' | 'subject' | 'reissue' | 'baseUrl' | 'status'>): MailJob {
    const createdAt = new Date().toISOString();
    return { id: `mail_${Date.now().toString(36).padStart(10, '0')}${randomBytes(6).toString('hex')}`, kind: 'install-code', attempts: 0, createdAt, ...input };
  }

  get(id: string): MailJob | undefined {
    return this.jobs.get(id);
  }

  /** Writes a job and keeps the unfinished index. Synchronous: compose it in a transaction. */
  put(job: MailJob): MailJob {
    this.jobs.putSync(job.id, job);
    if (UNFINISHED.has(job.status)) this.unfinished.putSync(job.id, job.tenantId);
    else this.unfinished.removeSync(job.id);
    return job;
  }

  unfinishedJobs(): MailJob[] {
    return [...this.unfinished.getKeys({})].map((id) => this.jobs.get(id)).filter((job): job is MailJob => job !== undefined);
  }

  /** Newest first. */
  list(query: { to?: string; status?: string; limit?: number } = {}): MailJob[] {
    const limit = Math.min(Math.max(query.limit ?? 100, 1), 1000);
    const out: MailJob[] = [];
    for (const { value } of this.jobs.getRange({ reverse: true })) {
      if (query.to && value.to !== query.to.toLowerCase()) continue;
      if (query.status && value.status !== query.status) continue;
      out.push(value);
      if (out.length >= limit) break;
    }
    return out;
  }
}
