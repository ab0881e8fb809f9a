import { AlgaError } from '../lib/errors/index.ts';

export interface AdmissionConfig {
  perTenant: number;
  perExtension: number;
  /** Executions admitted beyond the worker count wait in a queue of at most this many. */
  queueMax: number;
  /** A job that waited this long for a worker is answered 503 instead of run (its caller has likely given up). */
  maxQueueWaitMs?: number;
}

/**
 * Counts executions in flight (running or queued) per tenant, per extension and in total,
 * and refuses with 429 before a limit is passed, so no tenant can fill the queue.
 */
export class Admission {
  private readonly tenants = new Map<string, number>();
  private readonly extensions = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly config: AdmissionConfig,
    private readonly workers: () => number,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** Admits one execution or throws E_RUNNER_BUSY / E_RUNNER_QUEUE_FULL; call the returned release once. */
  admit(tenant: string, extension: string): () => void {
    if ((this.tenants.get(tenant) ?? 0) >= this.config.perTenant) throw new AlgaError('E_RUNNER_BUSY', `Tenant limit: ${this.config.perTenant} at a time.`);
    if ((this.extensions.get(extension) ?? 0) >= this.config.perExtension) throw new AlgaError('E_RUNNER_BUSY', `Extension limit: ${this.config.perExtension} at a time.`);
    if (this.total >= this.workers() + this.config.queueMax) throw new AlgaError('E_RUNNER_QUEUE_FULL', `${this.config.queueMax} executions are already waiting.`);
    this.tenants.set(tenant, (this.tenants.get(tenant) ?? 0) + 1);
    this.extensions.set(extension, (this.extensions.get(extension) ?? 0) + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      decrement(this.tenants, tenant);
      decrement(this.extensions, extension);
    };
  }
}

function decrement(counts: Map<string, number>, key: string): void {
  const next = (counts.get(key) ?? 1) - 1;
  if (next <= 0) counts.delete(key);
  else counts.set(key, next);
}
