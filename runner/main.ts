import { configFromEnv, startRunnerServer } from './index.ts';
import { isAlgaError } from '../lib/errors/index.ts';
import { runnerEnvironment } from './fleet/command-line.ts';
import { joinRunnerFleet } from './fleet/membership.ts';

/** `alga-runner`: the runner service, configured from its environment, flags or config file (docs/runner.md). */
try {
  const env = runnerEnvironment(process.argv.slice(2), process.env);
  const server = await startRunnerServer(configFromEnv(env));
  // A fleet runner announces itself in Redis once it listens (its database answered before that).
  const membership = env.RUNNER_REDIS_URL
    ? await joinRunnerFleet({
        redisUrl: env.RUNNER_REDIS_URL,
        prefix: env.RUNNER_REDIS_PREFIX || 'alga',
        url: env.RUNNER_ADVERTISE_URL || server.url,
        workers: server.runner.workers,
        onError: (error) => process.stderr.write(`alga-runner: Redis heartbeat failed: ${error.message}\n`),
      })
    : undefined;
  process.stdout.write(`alga-runner listening on ${server.url} with ${server.runner.workers} workers\n`);
  const stop = () => {
    (membership?.leave() ?? Promise.resolve())
      .then(() => server.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // Started by alga-host with an IPC channel: when the host goes away, even killed outright or
  // while it was still starting, the channel closes and the runner stops instead of lingering.
  if (process.connected) process.once('disconnect', stop);
} catch (error) {
  process.stderr.write(isAlgaError(error) ? `error ${error.code}: ${error.message}\n` : `error: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
}
