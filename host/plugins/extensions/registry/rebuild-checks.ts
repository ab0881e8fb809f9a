import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyBaseLogger } from 'fastify';
import type { BundleBlobs } from '../../../../lib/bundle/index.ts';
import type { HostEvents } from '../../../core/events.ts';
import type { HostStore } from '../../../core/store.ts';
import type { RegistryStore } from './registry-store.ts';

/** What the host found when it rebuilt a version from the source its bundle carries. */
export interface RebuildCheck {
  /** `reproducible`: byte-identical; `different`: the source builds other bytes; `failed`: the rebuild did not finish. */
  result: 'reproducible' | 'different' | 'failed';
  checkedAt: string;
  /** The rebuild's own sentence (why it differs, or why it failed). */
  detail?: string;
}

const aLongRebuildMs = 10 * 60_000;
const algaExt = fileURLToPath(new URL('../../../../bin/alga-ext.js', import.meta.url));

/** Rebuild results by content hash, beside the (never changing) version records. */
export class RebuildChecks {
  private readonly checks;

  constructor(store: HostStore) {
    this.checks = store.db<RebuildCheck, string>('ext.rebuild-checks');
  }

  get(contentHash: string): RebuildCheck | undefined {
    return this.checks.get(contentHash);
  }

  record(contentHash: string, check: RebuildCheck): void {
    this.checks.putSync(contentHash, check);
  }
}

/**
 * When a version is published whose bundle carries its source (`alga-ext pack --with-source`),
 * the host rebuilds it with `alga-ext verify-build` — in a process of its own, one version at a
 * time, with nothing of the host's environment — and records whether the bytes are identical:
 * what the catalog shows as "reproducible: checked". `EXT_REBUILD_CHECK=off` turns it off.
 */
export function checkRebuildsOnPublish(options: { events: HostEvents; registry: RegistryStore; blobs: BundleBlobs; checks: RebuildChecks; log: FastifyBaseLogger; onClose(hook: () => Promise<void> | void): void }): void {
  const { events, registry, blobs, checks, log } = options;
  let queue: Promise<void> = Promise.resolve();
  let running: ChildProcess | undefined;
  let closed = false;

  events.on('registry.published', (payload) => {
    const { extensionId, version } = payload as { extensionId?: string; version?: string };
    const record = typeof extensionId === 'string' && typeof version === 'string' ? registry.getVersion(extensionId, version) : undefined;
    if (!record || record.reproducibility !== 'source-attached' || checks.get(record.contentHash)) return;
    queue = queue.then(async () => {
      if (closed) return;
      const check = await rebuild(record.contentHash);
      if (closed) return;
      checks.record(record.contentHash, check);
      log.info({ extensionId, version, contentHash: record.contentHash, result: check.result }, 'rebuilt a published version from its attached source');
    });
  });

  options.onClose(() => {
    closed = true;
    running?.kill('SIGKILL');
  });

  async function rebuild(contentHash: string): Promise<RebuildCheck> {
    const checkedAt = () => new Date().toISOString();
    const bytes = blobs.read(contentHash);
    if (!bytes) return { result: 'failed', checkedAt: checkedAt(), detail: 'The bundle is no longer in the bundle store.' };
    const scratch = mkdtempSync(join(tmpdir(), 'alga-rebuild-check-'));
    try {
      const bundlePath = join(scratch, 'bundle.algabundle');
      writeFileSync(bundlePath, bytes);
      const { code, stderr } = await run(process.execPath, [algaExt, 'verify-build', bundlePath, '--json'], scratch);
      if (code === 0) return { result: 'reproducible', checkedAt: checkedAt() };
      const said = stderr.match(/^error (E_[A-Z0-9_]+): (.*)$/m);
      if (said?.[1] === 'E_BUILD_NOT_REPRODUCIBLE') return { result: 'different', checkedAt: checkedAt(), detail: said[2].slice(0, 600) };
      return { result: 'failed', checkedAt: checkedAt(), detail: (said ? `${said[1]}: ${said[2]}` : `alga-ext verify-build stopped (exit code ${code}).`).slice(0, 600) };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }

  function run(command: string, args: string[], cwd: string): Promise<{ code: number | null; stderr: string }> {
    return new Promise((resolve) => {
      // Only what a build needs: where tools are, and the per-user engine cache (docs/build.md).
      const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd, ...(process.env.ALGA_ENGINE_CACHE ? { ALGA_ENGINE_CACHE: process.env.ALGA_ENGINE_CACHE } : {}) };
      const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
      running = child;
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-8_000)));
      const timer = setTimeout(() => child.kill('SIGKILL'), aLongRebuildMs);
      const done = (code: number | null) => {
        clearTimeout(timer);
        if (running === child) running = undefined;
        resolve({ code, stderr });
      };
      child.on('error', () => done(null));
      child.on('close', done);
    });
  }
}
