import { configFromEnv, prepareRunnerServer, type RunningRunnerServer } from './index.ts';
import { isAlgaError } from '../lib/errors/index.ts';
import { runnerEnvironment } from './fleet/command-line.ts';
import { joinRunnerFleet } from './fleet/membership.ts';

/**
 * `alga-runner`: the runner service, configured from its environment, flags or config file (docs/runner.md).
 *
 * With RUNNER_STANDBY=1 and an IPC channel (alga-host's warm spare), it builds everything — code
 * loaded, workers started, storage open — and then waits for the host's `{type: 'activate'}`
 * before it binds its port, which the runner it replaces has just let go of. It tells the host
 * `{type: 'standby'}` when it is waiting and `{type: 'listening'}` once it serves.
 *
 * A fleet runner (RUNNER_DATABASE_URL, RUNNER_REDIS_URL) checks its database before it listens and
 * announces itself in Redis once it does (docs/scale-out.md).
 */
try {
  // Started with an IPC channel that is already closed: its host went away while this runner was
  // still loading, before a 'disconnect' listener could hear it (see below).
  if (process.send && !process.connected) hostGone();
  const env = runnerEnvironment(process.argv.slice(2), process.env);
  const prepared = prepareRunnerServer(configFromEnv(env));
  const standby = env.RUNNER_STANDBY === '1' && process.connected;
  let server: RunningRunnerServer | undefined;
  let membership: { leave(): Promise<void> } | undefined;
  const stop = () => {
    (membership?.leave() ?? Promise.resolve())
      .then(() => (server ?? prepared).close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Started by alga-host with an IPC channel: when the host goes away, even killed outright or
  // while it was still starting, the channel closes and the runner stops instead of lingering.
  process.once('disconnect', stop);

  const serve = async () => {
    server = await prepared.listen({ retryMs: standby ? 5000 : 0 });
    if (env.RUNNER_REDIS_URL) {
      membership = await joinRunnerFleet({
        redisUrl: env.RUNNER_REDIS_URL,
        prefix: env.RUNNER_REDIS_PREFIX || 'alga',
        url: env.RUNNER_ADVERTISE_URL || server.url,
        workers: server.runner.workers,
        onError: (error) => process.stderr.write(`alga-runner: Redis heartbeat failed: ${error.message}\n`),
      });
    }
    process.stdout.write(`alga-runner listening on ${server.url} with ${server.runner.workers} workers\n`);
    tellHost({ type: 'listening', url: server.url });
  };
  if (standby) {
    process.on('message', (message: { type?: string }) => {
      if (message?.type !== 'activate' || server) return;
      serve().catch((error: unknown) => fail(error));
    });
    tellHost({ type: 'standby' });
  } else {
    await serve();
  }
} catch (error) {
  fail(error);
}

/** A message to alga-host over the IPC channel; a host already gone is no error (the channel's `disconnect` stops this runner). */
function tellHost(message: { type: string; url?: string }): void {
  if (process.connected) process.send?.(message, () => {});
}

function hostGone(): never {
  process.stderr.write('alga-runner: the host that started it is gone; exiting\n');
  process.exit(0);
}

function fail(error: unknown): never {
  process.stderr.write(isAlgaError(error) ? `error ${error.code}: ${error.message}\n` : `error: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
