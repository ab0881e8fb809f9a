import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';

interface DevOptions {
  port: string;
  uiPort: string;
  host: string;
  config: string[];
  secret: string[];
  grant: string[];
  deny: string[];
  egress: string[];
  allowPrivateEgress?: boolean;
  cacheDir?: string;
  dataDir?: string;
  tenant: string;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function pairs(values: string[], what: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf('=');
    if (at <= 0) throw new AlgaError('E_CLI_USAGE', `${what} "${value}" must look like name=value.`);
    result[value.slice(0, at).trim()] = value.slice(at + 1).trim();
  }
  return result;
}

function port(value: string, flag: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) throw new AlgaError('E_CLI_USAGE', `${flag} must be a port number (0 picks a free one), got "${value}".`);
  return Number(value);
}

export function register(program: Command): void {
  program
    .command('dev')
    .description('Watch src/, ui/ and manifest.json, rebuild on change and serve the extension with the real runner: its API, its UI in a browser page, a live log')
    .argument('[dir]', 'the extension project folder', '.')
    .option('-p, --port <port>', 'port of the dev page and the API (0 picks a free one)', '8787')
    .option('--ui-port <port>', 'port the extension UI is served from, its own origin (0 picks a free one)', '0')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('-c, --config <key=value>', 'install config value (repeatable)', collect, [])
    .option('-s, --secret <name=value>', 'install secret (repeatable)', collect, [])
    .option('-g, --grant <capability>', 'grant only these capabilities (repeatable; default: all the manifest declares)', collect, [])
    .option('--deny <capability>', 'withhold a declared capability (repeatable)', collect, [])
    .option('-e, --egress <host>', 'allow egress only to these hosts (repeatable; default: the manifest\'s egress list)', collect, [])
    .option('--allow-private-egress', 'allow egress to loopback and private addresses')
    .option('--tenant <id>', 'tenant id to run as', 'local-tenant')
    .option('--cache-dir <folder>', 'where built components are cached (default <project>/.alga-cache)')
    .option('--data-dir <folder>', 'local storage and runner caches (default <project>/.alga-cache/dev)')
    .action(async (dir: string, options: DevOptions) => {
      const projectDir = resolve(dir);
      const { startDevServer } = await import('../../lib/dev/dev-server.ts');
      const print = (line: string) => process.stderr.write(`${line}\n`);
      const server = await startDevServer({
        projectDir,
        host: options.host,
        port: port(options.port, '--port'),
        uiPort: port(options.uiPort, '--ui-port'),
        cacheDir: resolve(options.cacheDir ?? join(projectDir, '.alga-cache')),
        dataDir: resolve(options.dataDir ?? join(projectDir, '.alga-cache', 'dev')),
        config: pairs(options.config, 'Config'),
        secrets: pairs(options.secret, 'Secret'),
        grants: options.grant.length > 0 ? options.grant : undefined,
        deny: options.deny,
        egress: options.egress.length > 0 ? options.egress : undefined,
        allowPrivateEgress: options.allowPrivateEgress ?? false,
        tenant: options.tenant,
        print,
      });
      process.stdout.write(`alga-ext dev: ${server.url}  (API ${server.url}/api/ext/…, UI from ${server.uiUrl}); watching src/, ui/ and manifest.json — Ctrl-C stops\n`);
      const stop = () => void server.close().finally(() => process.exit(0));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}
