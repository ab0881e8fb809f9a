import type { FastifyBaseLogger } from 'fastify';
import type { HostEvents } from '../../core/events.ts';
import type { HostLifecycle } from '../../core/plugin.ts';
import type { RunnerHandle } from '../../core/runner/handle.ts';
import type { InstallStore } from './installs/install-store.ts';

export interface RunnerPrepareOptions {
  runner: RunnerHandle;
  installs: InstallStore;
  events: HostEvents;
  lifecycle: HostLifecycle;
  log: FastifyBaseLogger;
  /** How often the runner's /healthz is read: a runner whose boot id is new prepares every installed version. */
  checkEveryMs?: number;
}

/** What the runner is asked to make ready: a version, compiled with the memory cap its install uses. */
interface Preparation {
  contentHash: string;
  memoryMb?: number;
}

/** Transpiling a version the runner has never seen takes seconds on a busy machine. */
const prepareTimeoutMs = 120_000;

/**
 * Asks the runner to prepare a version (`POST /v1/prepare`: verify, transpile, compile, ready an
 * instance) before its first request: when it is published, when it is installed or upgraded, and
 * for every enabled install whenever a runner starts (host start, runner restart: its /healthz
 * `boot_id` changes).
 * Fire-and-forget: a failure is logged and the first request then does the work itself.
 */
export function prepareVersionsOnRunner(options: RunnerPrepareOptions): void {
  const { runner, installs, events, log } = options;
  let queue: Promise<void> = Promise.resolve();
  let closed = false;

  const prepare = (preparations: Preparation[]) => {
    queue = queue.then(async () => {
      for (const preparation of preparations) {
        if (closed) return;
        await post(preparation);
      }
    });
  };

  async function post({ contentHash, memoryMb }: Preparation): Promise<void> {
    const baseUrl = runner.baseUrl();
    if (!baseUrl) return; // not up: everything is prepared when it is
    try {
      const response = await fetch(`${baseUrl}/v1/prepare`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${runner.serviceToken}` },
        body: JSON.stringify({ content_hash: contentHash, ...(memoryMb ? { limits: { memory_mb: memoryMb } } : {}) }),
        signal: AbortSignal.timeout(prepareTimeoutMs),
      });
      const answer = (await response.json().catch(() => undefined)) as { error?: { code?: string } } | undefined;
      if (!response.ok) log.warn({ contentHash, status: response.status, code: answer?.error?.code }, 'the runner could not prepare a version; its first request will');
    } catch (error) {
      log.warn({ contentHash, reason: (error as Error).name === 'TimeoutError' ? 'timeout' : (error as Error).message }, 'the runner could not be asked to prepare a version');
    }
  }

  events.on('registry.published', (payload) => {
    const { contentHash } = payload as { contentHash?: string };
    if (typeof contentHash === 'string') prepare([{ contentHash }]);
  });
  events.on('install.saved', (payload) => {
    const { tenantId, extensionId } = payload as { tenantId: string; extensionId: string };
    const install = installs.get(tenantId, extensionId);
    if (install?.enabled) prepare([{ contentHash: install.contentHash, memoryMb: install.limits.memoryMb }]);
  });

  // Every enabled install's version, once per distinct (hash, memory cap), each time a runner (re)starts.
  let lastBootId: string | undefined;
  let checking = false;
  const check = async () => {
    const baseUrl = runner.checkUrl();
    if (!baseUrl || checking || closed) return;
    checking = true;
    try {
      const health = (await (await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) })).json()) as { boot_id?: unknown };
      if (typeof health.boot_id !== 'string' || health.boot_id === lastBootId) return;
      lastBootId = health.boot_id;
      const distinct = new Map<string, Preparation>();
      for (const install of installs.listAll()) {
        if (install.enabled) distinct.set(`${install.contentHash}|${install.limits.memoryMb}`, { contentHash: install.contentHash, memoryMb: install.limits.memoryMb });
      }
      prepare([...distinct.values()]);
    } catch {
      // Not up (yet): the next check.
    } finally {
      checking = false;
    }
  };
  const timer = setInterval(() => void check(), options.checkEveryMs ?? 2000);
  timer.unref();
  void check();
  options.lifecycle.onClose(() => {
    closed = true;
    clearInterval(timer);
  });
}
