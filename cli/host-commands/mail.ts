import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';
import { resolveDataDir } from '../../host/core/secrets/cli-defaults.ts';
import { resolveFleetSettings } from '../../host/core/fleet-config.ts';
import { openHostStore } from '../../host/core/store-engine.ts';
import { storePathOf, type HostStore } from '../../host/core/store.ts';
import { MailQueue, publicMail } from '../../host/plugins/license/mail-queue.ts';

/**
 * `alga-host mail list|retry`: a control plane's install-code mail from its data folder, or a
 * fleet's database with ALGA_DATABASE_URL set (the host may be running), the same records as
 * GET /outbox — states, attempts, errors, dead letters — and never a code, which is not stored.
 */
export function register(program: Command): void {
  const mail = program.command('mail').description('Install-code mail of a license control plane: list it, retry dead letters (needs file access to the data folder)');

  mail
    .command('list')
    .description('List install-code mail, newest first (no codes: they are never stored)')
    .option('--status <status>', 'queued | sending | sent | failed | outbox | released | superseded')
    .option('--to <email>', 'only mail to this address')
    .option('--limit <n>', 'at most this many (default 100)')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .action(async (options: { status?: string; to?: string; limit?: string; data?: string }) => {
      await withQueue(options.data, (queue) => {
        for (const job of queue.list({ status: options.status, to: options.to, limit: options.limit ? Number(options.limit) : undefined }).map(publicMail)) {
          const detail = job.status === 'failed' || job.status === 'queued' ? `  ${job.last_error ?? ''}` : '';
          process.stdout.write(`${job.id}  ${job.status.padEnd(10)}  attempts ${job.attempts}  ${job.to}  ${job.created_at}${detail}\n`);
        }
      });
    });

  mail
    .command('retry')
    .argument('<id>', 'the mail id (from `alga-host mail list --status failed`)')
    .description('Queue a dead letter again; the running control plane sends it, with a new code, within a minute')
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .action(async (id: string, options: { data?: string }) => {
      await withQueue(options.data, (queue, store) => {
        store.transaction(() => {
          const job = queue.get(id);
          if (!job) throw new AlgaError('E_MAIL_NOT_FOUND', `Mail ${id}.`);
          if (job.status !== 'failed') throw new AlgaError('E_MAIL_STATE', `Mail ${id} is ${job.status}; only a failed mail is retried.`);
          queue.put({ ...job, status: 'queued', attempts: 0, nextAttemptAt: new Date().toISOString() });
        });
        process.stdout.write(`Queued ${id} again.\n`);
      });
    });
}

/** The control plane's store: the fleet's PostgreSQL with ALGA_DATABASE_URL set, else the folder's own. */
async function withQueue(data: string | undefined, action: (queue: MailQueue, store: HostStore) => void): Promise<void> {
  const dataDir = resolveDataDir(data);
  const fleet = resolveFleetSettings({}, process.env);
  if (!fleet.databaseUrl && !existsSync(storePathOf(dataDir))) throw new AlgaError('E_HOST_DATA_MISSING', `${dataDir} has no store; give the control plane's data folder with --data (or ALGA_DATABASE_URL for a fleet).`);
  const store = openHostStore({ dataDir, fleet }, 'alga-host mail');
  try {
    action(new MailQueue(store), store);
  } finally {
    await store.close();
  }
}
