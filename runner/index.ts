import { buildRunnerApp } from './http/server.ts';
import { createRunner, Runner } from './runner.ts';
import type { RunnerConfig } from './config.ts';

export { createRunner, Runner, type ExecuteResult, type ExecutionRecord } from './runner.ts';
export { configFromEnv, resolveConfig, type RunnerConfig } from './config.ts';
export { parseExecuteRequest, type ExecuteRequest } from './execute-request.ts';
export { buildRunnerApp } from './http/server.ts';

export interface RunningRunnerServer {
  url: string;
  runner: Runner;
  close(): Promise<void>;
}

/** A runner built and ready to serve, not yet listening (a warm standby waits here until it is needed). */
export interface PreparedRunnerServer {
  runner: Runner;
  /** Binds `config.host:config.port`; a port still held by a runner that is exiting is retried for `retryMs`. */
  listen(options?: { retryMs?: number }): Promise<RunningRunnerServer>;
  close(): Promise<void>;
}

export function prepareRunnerServer(config: RunnerConfig): PreparedRunnerServer {
  const runner = createRunner(config);
  let app;
  try {
    app = buildRunnerApp(runner);
  } catch (error) {
    void runner.close();
    throw error;
  }
  const built = app;
  return {
    runner,
    async listen(options = {}) {
      // A fleet runner's database answers before the runner takes calls (E_DATABASE_UNREACHABLE otherwise).
      await runner.database?.ready();
      const deadline = Date.now() + (options.retryMs ?? 0);
      for (;;) {
        try {
          await built.listen({ host: runner.config.host, port: runner.config.port });
          return runningServer(built, runner);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    },
    async close() {
      await built.close();
      await runner.close();
    },
  };
}

/** Starts the runner and its HTTP API on `config.host:config.port` (port 0 picks a free one). */
export async function startRunnerServer(config: RunnerConfig): Promise<RunningRunnerServer> {
  const prepared = prepareRunnerServer(config);
  try {
    return await prepared.listen();
  } catch (error) {
    await prepared.runner.close();
    throw error;
  }
}

function runningServer(app: ReturnType<typeof buildRunnerApp>, runner: Runner): RunningRunnerServer {
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : runner.config.port;
  const host = runner.config.host.includes(':') ? `[${runner.config.host}]` : runner.config.host;
  return {
    url: `http://${host}:${port}`,
    runner,
    close: async () => {
      await app.close();
      await runner.close();
    },
  };
}
