import type { Command } from 'commander';
import { startHost } from '../../host/core/start.ts';

/** `alga-host start`: the whole host (and its runner) in one command, until SIGINT/SIGTERM. */
export function register(program: Command): void {
  program
    .command('start')
    .description('Start the host (and its runner) on this machine')
    // No commander defaults: the environment (ALGA_DATA_DIR, ALGA_PORT, ALGA_HOST, ALGA_PROFILE) comes
    // before the built-in defaults, as for every other alga-host command (host/core/config.ts).
    .option('--data <dir>', 'data folder (default: $ALGA_DATA_DIR or ./.alga-data)')
    .option('--port <n>', 'port to listen on (default: $ALGA_PORT or 8080)')
    .option('--host <host>', 'address to listen on (default: $ALGA_HOST or 127.0.0.1)')
    .option('--profile <profile>', 'appliance | control-plane | all (default: $ALGA_PROFILE or all)')
    .option('--database <url>', 'fleet: keep the state in PostgreSQL (postgres://…; default $ALGA_DATABASE_URL) instead of LMDB')
    .option('--redis <url>', 'fleet: quotas, sign-in limits and runner heartbeats in Redis (redis://…; default $ALGA_REDIS_URL)')
    .option('--runner <url...>', 'fleet: the runners to call (URLs), or "redis" to find them by their heartbeats (default $RUNNER_BASE_URL)')
    .option('--config <file>', 'fleet settings as JSON {database, redis, runners, redisPrefix} (default $ALGA_CONFIG); flags and environment win')
    .action(async (options: { data?: string; port?: string; host?: string; profile?: string; database?: string; redis?: string; runner?: string[]; config?: string }) => {
      // The signals are ours from the first moment: a Ctrl-C while the host is still starting (its
      // runner coming up) waits for the start and then stops it cleanly, instead of killing the
      // host outright and leaving its runner and the runner's key in the data folder behind.
      let running: Awaited<ReturnType<typeof startHost>> | undefined;
      let stopping: string | undefined;
      const stop = async () => {
        process.stdout.write(`alga-host stopping (${stopping})\n`);
        try {
          await running!.close();
        } finally {
          process.exit(0);
        }
      };
      const onSignal = (signal: string) => {
        if (stopping) {
          process.stderr.write(`alga-host: ${signal} again, exiting without waiting\n`);
          process.exit(1);
        }
        stopping = signal;
        if (running) void stop();
        else process.stdout.write(`alga-host: ${signal} while starting; stopping once the start is done\n`);
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      running = await startHost({ dataDir: options.data, port: options.port, host: options.host, profile: options.profile, database: options.database, redis: options.redis, runners: options.runner, configFile: options.config });
      if (stopping) return void stop();
      process.stdout.write(`alga-host listening on ${running.url} (profile ${running.config.profile}, data ${running.config.dataDir})\n`);
    });
}
