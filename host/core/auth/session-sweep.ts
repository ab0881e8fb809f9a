import type { HostStore } from '../store.ts';
import { Sessions } from './sessions.ts';

/**
 * Deletes expired sessions from the store: one pass when the host starts, then one every
 * `intervalMs` on an unref'd timer, until stopped (the host's close). Passes never overlap and
 * never throw; a failure is logged and the next pass tries again.
 */

export const DEFAULT_SESSION_SWEEP_INTERVAL_MS = 60 * 60 * 1000;

export interface SessionSweep {
  /** One pass now (or the one already running); resolves to how many sessions it deleted. */
  runNow(): Promise<number>;
  /** Whether the periodic sweep is armed; false once stopped. */
  readonly scheduled: boolean;
  /** Disarms the timer and waits for a running pass, which ends after its current batch. */
  stop(): Promise<void>;
}

export interface SessionSweepOptions {
  store: HostStore;
  intervalMs?: number;
  batchSize?: number;
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export function startSessionSweep(options: SessionSweepOptions): SessionSweep {
  const sessions = new Sessions(options.store);
  let stopped = false;
  let running: Promise<number> | undefined;

  const runNow = () => {
    running ??= sessions
      .sweepExpired({ batchSize: options.batchSize, shouldStop: () => stopped })
      .then(
        (deleted) => {
          if (deleted > 0) options.log.info({ deleted }, 'expired sessions deleted');
          return deleted;
        },
        (error: unknown) => {
          options.log.error({ err: error }, 'expired session sweep failed');
          return 0;
        },
      )
      .finally(() => {
        running = undefined;
      });
    return running;
  };

  const timer = setInterval(() => void runNow(), options.intervalMs ?? DEFAULT_SESSION_SWEEP_INTERVAL_MS);
  timer.unref();
  void runNow();

  return {
    runNow,
    get scheduled() {
      return !stopped;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
