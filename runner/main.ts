import { configFromEnv, startRunnerServer } from './index.ts';
import { isAlgaError } from '../lib/errors/index.ts';

/** `alga-runner`: the runner service, configured from its environment (docs/runner.md). */
try {
  const server = await startRunnerServer(configFromEnv());
  process.stdout.write(`alga-runner listening on ${server.url} with ${server.runner.workers} workers\n`);
  const stop = () => {
    server.close().then(
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
