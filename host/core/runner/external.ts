import type { RunnerHandle } from './handle.ts';
import { RunnerHealth } from './health.ts';

export interface ManagedRunner extends RunnerHandle {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A runner elsewhere (RUNNER_BASE_URL): probed every few seconds; the host never starts or stops it. */
export function externalRunner(options: { baseUrl: string; publicBaseUrl?: string; serviceToken: string; publicKey: string | (() => string); probeIntervalMs?: number }): ManagedRunner {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const health = new RunnerHealth();
  let timer: NodeJS.Timeout | undefined;
  const check = () => health.check(baseUrl);
  return {
    serviceToken: options.serviceToken,
    // Read at each use: a key rotation changes it while the host runs.
    get publicKey() {
      return typeof options.publicKey === 'function' ? options.publicKey() : options.publicKey;
    },
    baseUrl: () => baseUrl,
    checkUrl: () => baseUrl,
    publicBaseUrl: () => options.publicBaseUrl ?? baseUrl,
    isReady: () => health.ready,
    isAvailable: () => health.isAvailable(),
    reportUnreachable() {
      health.reportUnreachable();
      void check();
    },
    async start() {
      await check();
      timer = setInterval(check, options.probeIntervalMs ?? 2000);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
    },
  };
}
