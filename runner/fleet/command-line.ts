import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';

/**
 * `alga-runner` flags and config file, as environment variables (the runner's one configuration
 * surface, docs/runner.md). Flags win over the environment, which wins over the file:
 *
 *   alga-runner --port 7001 --database postgres://alga@db/alga --redis redis://redis:6379 \
 *     --advertise http://10.0.0.5:7001
 *   alga-runner --config runner.json   # {"port": 7001, "database": "…", "redis": "…", "advertise": "…"}
 */

const fileKeys: Record<string, string> = {
  port: 'RUNNER_PORT',
  host: 'RUNNER_HOST',
  dataDir: 'RUNNER_DATA_DIR',
  database: 'RUNNER_DATABASE_URL',
  redis: 'RUNNER_REDIS_URL',
  redisPrefix: 'RUNNER_REDIS_PREFIX',
  advertise: 'RUNNER_ADVERTISE_URL',
  registry: 'RUNNER_REGISTRY_URL',
  workers: 'RUNNER_WORKERS',
};

function fromFile(path: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AlgaError('E_RUNNER_CONFIG_INVALID', `The config file ${path} cannot be read as JSON (${(error as NodeJS.ErrnoException).code ?? 'not JSON'}).`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AlgaError('E_RUNNER_CONFIG_INVALID', `The config file ${path} must hold a JSON object.`);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(parsed)) {
    const name = fileKeys[key];
    if (!name) throw new AlgaError('E_RUNNER_CONFIG_INVALID', `The config file ${path} has an unknown key "${key}" (known: ${Object.keys(fileKeys).join(', ')}).`);
    if (typeof value !== 'string' && typeof value !== 'number') throw new AlgaError('E_RUNNER_CONFIG_INVALID', `"${key}" in ${path} must be a string or a number.`);
    env[name] = String(value);
  }
  return env;
}

/** The environment the runner configures itself from, with `argv`'s flags and config file applied. */
export function runnerEnvironment(argv: readonly string[], env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const program = new Command('alga-runner')
    .description('Run the Alga extension runner (configuration: docs/runner.md)')
    .option('--config <file>', 'settings as JSON (keys: port, host, dataDir, database, redis, redisPrefix, advertise, registry, workers)')
    .option('--port <n>', 'port to listen on (RUNNER_PORT)')
    .option('--host <host>', 'address to listen on (RUNNER_HOST)')
    .option('--database <url>', 'fleet: shared bundles and alga.storage in PostgreSQL (RUNNER_DATABASE_URL)')
    .option('--redis <url>', 'fleet: announce this runner to the hosts with a heartbeat in Redis (RUNNER_REDIS_URL)')
    .option('--advertise <url>', 'fleet: the URL hosts reach this runner at (RUNNER_ADVERTISE_URL; default its listen address)')
    .exitOverride((error) => {
      if (error.exitCode === 0) process.exit(0);
      throw new AlgaError('E_RUNNER_CONFIG_INVALID', error.message.replace(/^error: /, ''));
    })
    .configureOutput({ writeErr: () => undefined });
  program.parse([...argv], { from: 'user' });
  const flags = program.opts<{ config?: string; port?: string; host?: string; database?: string; redis?: string; advertise?: string }>();
  const configFile = flags.config ?? env.RUNNER_CONFIG;
  const fromFlags: Record<string, string | undefined> = {
    RUNNER_PORT: flags.port,
    RUNNER_HOST: flags.host,
    RUNNER_DATABASE_URL: flags.database,
    RUNNER_REDIS_URL: flags.redis,
    RUNNER_ADVERTISE_URL: flags.advertise,
  };
  const merged: NodeJS.ProcessEnv = { ...(configFile ? fromFile(configFile) : {}), ...env };
  for (const [name, value] of Object.entries(fromFlags)) if (value !== undefined) merged[name] = value;
  return merged;
}
