import { request } from 'node:http';

/** How a /healthz probe ended: answered 2xx, refused or reset (nobody listens), or no answer in time (busy). */
export type ProbeOutcome = 'ok' | 'refused' | 'slow';

/** GET `${baseUrl}/healthz` within `timeoutMs`. */
export function probeHealth(baseUrl: string, timeoutMs = 2000): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: ProbeOutcome) => {
      if (!settled) {
        settled = true;
        resolve(outcome);
      }
    };
    try {
      const req = request(new URL('/healthz', baseUrl), { method: 'GET', timeout: timeoutMs }, (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 300 ? 'ok' : 'slow');
      });
      req.on('timeout', () => {
        req.destroy();
        done('slow');
      });
      req.on('error', (error: NodeJS.ErrnoException) => done(error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET' ? 'refused' : 'slow'));
      req.end();
    } catch {
      done('refused');
    }
  });
}

/**
 * Consecutive unanswered health checks after which a runner counts as down for the gateway. A
 * runner that is busy (a cold compile on a loaded machine can hold its event loop for seconds)
 * answers late, not never; one that refuses connections is down at once.
 */
export const failedChecksUntilUnavailable = 4;

/**
 * What the host knows of one runner's health, from its /healthz probes and from connection
 * errors the gateway saw. Shared by the child runner and a runner elsewhere.
 */
export class RunnerHealth {
  /** The last probe succeeded (what /readyz reports). */
  ready = false;
  /** Probes failed in a row. */
  failedChecks = 0;
  /** Has answered since the last reset. */
  answered = false;
  /** When it last answered (performance.now()). */
  lastAnsweredAt = 0;
  private refused = false;

  /** Probes `${baseUrl}/healthz` and records the outcome. */
  async check(baseUrl: string): Promise<void> {
    const outcome = await probeHealth(baseUrl);
    this.ready = outcome === 'ok';
    this.failedChecks = this.ready ? 0 : this.failedChecks + 1;
    if (this.ready) {
      this.answered = true;
      this.refused = false;
      this.lastAnsweredAt = performance.now();
    } else if (outcome === 'refused') {
      this.refused = true;
    }
  }

  /** Known to be up: it has answered, refused no connection since, and missed fewer than a few checks in a row. */
  isAvailable(): boolean {
    return this.answered && !this.refused && this.failedChecks < failedChecksUntilUnavailable;
  }

  /** A request could not connect: unavailable until a probe passes. */
  reportUnreachable(): void {
    this.ready = false;
    this.refused = true;
  }

  /** The runner said it listens (its own IPC message): ready now, without waiting for the next probe. */
  reportListening(): void {
    this.ready = true;
    this.answered = true;
    this.refused = false;
    this.failedChecks = 0;
    this.lastAnsweredAt = performance.now();
  }

  /** A new process: nothing known yet. */
  reset(): void {
    this.ready = false;
    this.failedChecks = 0;
    this.answered = false;
    this.refused = false;
  }
}
