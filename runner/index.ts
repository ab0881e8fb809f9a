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

/** Starts the runner and its HTTP API on `config.host:config.port` (port 0 picks a free one). */
export async function startRunnerServer(config: RunnerConfig): Promise<RunningRunnerServer> {
  const runner = createRunner(config);
  let app;
  try {
    // A fleet runner's database answers before the runner takes calls (E_DATABASE_UNREACHABLE otherwise).
    await runner.database?.ready();
    app = buildRunnerApp(runner);
    await app.listen({ host: runner.config.host, port: runner.config.port });
  } catch (error) {
    await runner.close();
    throw error;
  }
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
