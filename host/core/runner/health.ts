import { request } from 'node:http';

/** GET `${baseUrl}/healthz` → true on a 2xx within `timeoutMs`. */
export function probeHealth(baseUrl: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (ok: boolean) => {
      if (!settled) {
        settled = true;
        resolve(ok);
      }
    };
    try {
      const req = request(new URL('/healthz', baseUrl), { method: 'GET', timeout: timeoutMs }, (res) => {
        res.resume();
        done((res.statusCode ?? 500) < 300);
      });
      req.on('timeout', () => {
        req.destroy();
        done(false);
      });
      req.on('error', () => done(false));
      req.end();
    } catch {
      done(false);
    }
  });
}

/** Consecutive failed health checks after which a runner counts as down for the gateway. */
export const failedChecksUntilUnavailable = 3;

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
  private refused = false;

  /** Probes `${baseUrl}/healthz` and records the outcome. */
  async check(baseUrl: string): Promise<void> {
    this.ready = await probeHealth(baseUrl);
    this.failedChecks = this.ready ? 0 : this.failedChecks + 1;
    if (this.ready) {
      this.answered = true;
      this.refused = false;
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
  }

  /** A new process: nothing known yet. */
  reset(): void {
    this.ready = false;
    this.failedChecks = 0;
    this.answered = false;
  }
}
