import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { AlgaError } from '../../lib/errors/index.ts';

interface RunOptions {
  method: string;
  path: string;
  query: string;
  header: string[];
  config: string[];
  grant: string[];
  deny: string[];
  egress: string[];
  secret: string[];
  body?: string;
  bodyFile?: string;
  tenant: string;
  isolation: 'tenant' | 'request';
  timeoutMs?: string;
  memoryMb?: string;
  allowPrivateEgress?: boolean;
  dataDir?: string;
  json?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

function pairs(values: string[], separator: string, what: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const value of values) {
    const at = value.indexOf(separator);
    if (at <= 0) throw new AlgaError('E_CLI_USAGE', `${what} "${value}" must look like name${separator}value.`);
    result[value.slice(0, at).trim()] = value.slice(at + 1).trim();
  }
  return result;
}

/** A whole number of at least 1 given as `--flag <n>`, or undefined when the flag is absent. */
function positiveInteger(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value.trim())) throw new AlgaError('E_CLI_USAGE', `${flag} must be a whole number of at least 1, got "${value}".`);
  return Number(value);
}

/** What `run` grants: the manifest's capabilities (as an install would), or only `--grant`s, less `--deny`s. */
function grantsFor(declared: readonly string[], granted: string[], denied: string[]): string[] {
  for (const capability of [...granted, ...denied]) {
    if (!declared.includes(capability)) throw new AlgaError('E_CLI_USAGE', `${capability} is not among the capabilities manifest.json declares (${declared.join(', ') || 'none'}).`);
  }
  return (granted.length > 0 ? granted : [...declared]).filter((capability) => !denied.includes(capability));
}

export function register(program: Command): void {
  program
    .command('run')
    .description('Run one request through the extension handler locally, with the same runner the host uses')
    .argument('[target]', 'an extension project folder (built) or a .algabundle file', '.')
    .option('-X, --method <method>', 'HTTP method', 'GET')
    .option('-p, --path <path>', 'request path below the extension mount point', '/')
    .option('-q, --query <query>', 'raw query string, without "?"', '')
    .option('-H, --header <name:value>', 'request header (repeatable)', collect, [])
    .option('-c, --config <key=value>', 'install config value (repeatable)', collect, [])
    .option('-g, --grant <capability>', 'grant only these capabilities, e.g. alga.storage (repeatable; default: every capability the manifest declares, as an install would)', collect, [])
    .option('--deny <capability>', 'withhold a capability the manifest declares (repeatable)', collect, [])
    .option('-e, --egress <host>', 'allow egress only to these hosts on the install side (repeatable; default: the manifest\'s egress list)', collect, [])
    .option('-s, --secret <name=value>', 'install secret, sealed to the local runner (repeatable)', collect, [])
    .option('-d, --body <text>', 'request body')
    .option('--body-file <file>', 'request body from a file')
    .option('--tenant <id>', 'tenant id to run as', 'local-tenant')
    .option('--isolation <policy>', 'tenant or request', 'tenant')
    .option('--timeout-ms <ms>', 'deadline')
    .option('--memory-mb <mb>', 'memory limit')
    .option('--allow-private-egress', 'allow egress to loopback and private addresses (local testing)')
    .option('--data-dir <folder>', 'where local storage and the transpile cache live (default <project>/.alga-cache/run)')
    .option('--json', 'print the whole execute response as JSON')
    .addHelpText('after', '\nExits 0 for a 1xx-3xx answer, 1 for a 4xx/5xx answer or a failure to run (printed as `error CODE: cause`).')
    .action(async (target: string, options: RunOptions) => {
      const [{ createRunner }, { unpackBundle, packProjectDir, readUserFile }, { sealSecrets, runnerPublicKeyOf }, nacl] = await Promise.all([
        import('../../runner/runner.ts'), // not runner/index.ts: the HTTP server is not needed here
        import('../../lib/bundle/index.ts'),
        import('../../lib/sealed-secrets.ts'),
        import('tweetnacl'),
      ]);
      const targetPath = resolve(target);
      const isBundle = existsSync(targetPath) && statSync(targetPath).isFile();
      // A project folder is checked exactly as `pack` checks it, so run refuses what the host would.
      const { manifest, component, ui } = unpackBundle(isBundle ? readUserFile(targetPath) : packProjectDir(targetPath).bytes);
      const secrets = pairs(options.secret, '=', 'Secret');
      const headers = pairs(options.header, ':', 'Header');
      const config = pairs(options.config, '=', 'Config');
      const timeoutMs = positiveInteger(options.timeoutMs, '--timeout-ms');
      const memoryMb = positiveInteger(options.memoryMb, '--memory-mb');
      const secretKey = Buffer.from(nacl.default.box.keyPair().secretKey).toString('base64');
      const body = Buffer.from(options.bodyFile ? readUserFile(options.bodyFile) : (options.body ?? ''));
      const grants = grantsFor(manifest.capabilities, options.grant, options.deny);
      const runner = createRunner({
        dataDir: resolve(options.dataDir ?? join(isBundle ? process.cwd() : targetPath, '.alga-cache', 'run')),
        // One call of one local extension: one guest worker, no reserve for other tenants, and the
        // component loaded on this thread (a loader thread would only add its own start-up).
        workers: 1,
        reserveWorkers: 0,
        loaderThread: false,
        secretKey,
        egressAllowPrivate: options.allowPrivateEgress ?? false,
      });
      runner.events.on('event', (event: { stream: string; level: string; message: string }) => {
        if (event.message.trim() === '') return; // console.error's own line break
        process.stderr.write(`[${event.stream}${event.stream === 'log' ? ` ${event.level}` : ''}] ${event.message}${event.message.endsWith('\n') ? '' : '\n'}`);
      });
      try {
        process.stderr.write(`Loading ${manifest.name}@${manifest.version}…\n`);
        const hash = await runner.registerLocal(manifest, component, ui);
        const result = await runner.execute({
          context: { tenant_id: options.tenant, extension_id: manifest.name, install_id: `${options.tenant}-local`, version: manifest.version, content_hash: hash },
          http: {
            method: options.method.toUpperCase(),
            path: options.path.startsWith('/') ? options.path : `/${options.path}`,
            query: options.query.replace(/^\?/, ''),
            headers,
            body_b64: body.toString('base64'),
          },
          limits: {
            ...(timeoutMs ? { timeout_ms: timeoutMs } : {}),
            ...(memoryMb ? { memory_mb: memoryMb } : {}),
          },
          config,
          providers: grants,
          egress: options.egress.length > 0 ? options.egress : (manifest.egress ?? []),
          isolation: options.isolation,
          ...(Object.keys(secrets).length > 0 ? { secret_envelope: sealSecrets(secrets, runnerPublicKeyOf(secretKey)) } : {}),
        });
        if (!result.ok) throw result.error;
        if (result.status >= 400) process.exitCode = 1;
        if (options.json) {
          process.stdout.write(`${JSON.stringify({ status: result.status, headers: result.headers, body_b64: Buffer.from(result.body).toString('base64'), execution: result.execution }, null, 2)}\n`);
          return;
        }
        process.stderr.write(`HTTP ${result.status} in ${result.execution.duration_ms.toFixed(1)} ms, memory ${(result.execution.memory_bytes / 1048576).toFixed(1)} MB\n`);
        for (const [name, value] of Object.entries(result.headers)) process.stderr.write(`${name}: ${value}\n`);
        for (const denial of result.execution.denials) process.stderr.write(`denied ${denial.capability}: ${denial.reason}\n`);
        if (result.execution.error) process.stderr.write(`error ${result.execution.error.code}: ${result.execution.error.message}\n`);
        process.stdout.write(Buffer.from(result.body));
        if (result.body.length > 0 && result.body[result.body.length - 1] !== 0x0a && process.stdout.isTTY) process.stdout.write('\n');
      } finally {
        await runner.close();
      }
    });
}
