import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import nacl from 'tweetnacl';
import { build } from 'esbuild';
import { parseManifest, type Manifest } from '../bundle/index.ts';
import { allowedMethods, methodToCall } from '../bundle/endpoint-methods.ts';
import { bundleExtensionSource } from '../build/bundle-source.ts';
import { missingCapabilities } from '../build/index.ts';
import { buildUiFiles } from '../build/ui.ts';
import { AlgaError, isAlgaError } from '../errors/index.ts';
import { runnerPublicKeyOf, sealSecrets } from '../sealed-secrets.ts';
import { compilePathPattern } from '../../sdk/runtime/path-pattern.ts';
import { createRunner, type Runner } from '../../runner/runner.ts';
import { devEngineComponent, devHashKey, devSourceKey, devSourceLineOffset } from './dev-engine.ts';
import { devPageHtml } from './dev-page.ts';
import { watchProject } from './watch.ts';

export interface DevServerOptions {
  projectDir: string;
  host: string;
  port: number;
  /** The extension UI's own origin: another port on the same host (0 picks one). */
  uiPort: number;
  cacheDir: string;
  dataDir: string;
  config: Record<string, string>;
  secrets: Record<string, string>;
  /** Undefined: every capability the manifest declares, as an install would. */
  grants?: string[];
  deny: string[];
  egress?: string[];
  allowPrivateEgress: boolean;
  tenant: string;
  /** Terminal lines (build results, the extension's logs). */
  print(line: string): void;
}

export interface RebuildResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export interface DevServer {
  url: string;
  uiUrl: string;
  rebuild(): Promise<RebuildResult>;
  close(): Promise<void>;
}

interface Build {
  manifest: Manifest;
  manifestText: string;
  engineHash: string;
  code: string;
  codeHash: string;
  ui: Map<string, Uint8Array>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.json': 'application/json',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif', '.ico': 'image/x-icon', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
};
const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'content-length']);

/**
 * `alga-ext dev`: watches src/, ui/ and manifest.json, rebuilds on change and serves the extension
 * with the real runner — its API at /api/ext/{id}/…, its UI from a second origin in an iframe on a
 * dev page that speaks the host's bridge, a live log — reloading the page on every rebuild.
 * Code runs in the dev engine (see dev-engine.ts), so a change costs a bundle, not a componentize.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const { projectDir, print } = options;
  const engine = await devEngineComponent(options.cacheDir, (stage) => stage === 'componentize' && print('Building the dev engine once (componentize-js, ~20 s; cached afterwards)…'));
  const secretKey = Buffer.from(nacl.box.keyPair().secretKey).toString('base64');
  // One tenant: a reserve worker (kept for other tenants) would never run anything.
  const runner: Runner = createRunner({ dataDir: options.dataDir, workers: 1, reserveWorkers: 0, secretKey, egressAllowPrivate: options.allowPrivateEgress });
  const clients = new Set<ServerResponse>();
  let current: Build | undefined;
  let lastError: string | undefined;
  let lastFailure: unknown;
  let building: Promise<RebuildResult> | undefined;
  let again = false;

  const broadcast = (event: string, data: unknown): void => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(frame);
  };
  runner.events.on('event', (event: { stream: string; level: string; message: string; request: string }) => {
    if (event.message.trim() === '') return;
    print(`[${event.stream}${event.stream === 'log' ? ` ${event.level}` : ''}] ${event.message.replace(/\n$/, '')}`);
    broadcast('log', { stream: event.stream, level: event.level, message: event.message, request: event.request });
  });

  async function buildOnce(): Promise<RebuildResult> {
    const started = performance.now();
    try {
      const manifestText = readFileSync(join(projectDir, 'manifest.json'), 'utf8');
      const manifest = parseManifest(manifestText);
      const bundled = await bundleExtensionSource(join(projectDir, 'src', 'index.ts'), projectDir, 'cjs');
      const ui = (await buildUiFiles(projectDir)) ?? new Map<string, Uint8Array>();
      const engineHash = current && current.manifestText === manifestText ? current.engineHash : await runner.registerLocal(manifest, engine.component, new Map());
      runner.stacks.replace(engineHash, shiftedMap(bundled.map, devSourceLineOffset));
      const codeHash = Buffer.from(nacl.hash(new TextEncoder().encode(bundled.code))).toString('hex').slice(0, 32);
      current = { manifest, manifestText, engineHash, code: bundled.code, codeHash, ui };
      lastError = undefined;
      for (const capability of missingCapabilities(projectDir, bundled.usedInterfaces)) print(`warning: the code uses ${capability}, but manifest.json does not declare it; pack will refuse the bundle`);
      const ms = Math.round(performance.now() - started);
      broadcast('reload', { ms, version: manifest.version });
      return { ok: true, ms };
    } catch (error) {
      lastFailure = error;
      lastError = isAlgaError(error) ? `${error.code}: ${error.message}` : String((error as Error)?.message ?? error);
      const ms = Math.round(performance.now() - started);
      broadcast('build-error', { ms, error: lastError });
      return { ok: false, ms, error: lastError };
    }
  }

  /** One build at a time; a change during a build gets one more build after it. */
  function rebuild(): Promise<RebuildResult> {
    if (building) {
      again = true;
      return building;
    }
    building = (async () => {
      let result: RebuildResult;
      do {
        again = false;
        result = await buildOnce();
      } while (again);
      building = undefined;
      return result;
    })();
    return building;
  }

  const first = await rebuild();
  if (!first.ok && !current) {
    await runner.close();
    throw lastFailure; // nothing to serve yet: the first build's own error, as `build` would give it
  }
  const pageScript = await bundlePageScript();

  let devOrigin = '';
  let uiOrigin = '';
  const uiServer = createServer((request, response) => serveUi(request, response));
  const server = createServer((request, response) => {
    serveDev(request, response).catch((error) => {
      if (!response.headersSent) sendError(response, 500, new AlgaError('E_CLI_UNEXPECTED', String((error as Error)?.message ?? error)), 'dev');
    });
  });
  await listen(server, options.host, options.port);
  await listen(uiServer, options.host, options.uiPort);
  const hostName = options.host.includes(':') ? `[${options.host}]` : options.host;
  devOrigin = `http://${hostName}:${(server.address() as AddressInfo).port}`;
  uiOrigin = `http://${hostName}:${(uiServer.address() as AddressInfo).port}`;

  let timer: NodeJS.Timeout | undefined;
  const watcher = watchProject(projectDir, (file) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      void rebuild().then((result) => print(result.ok ? `Rebuilt in ${result.ms} ms (${file} changed); reloading` : `error ${result.error}`));
    }, 60);
  });

  async function serveDev(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', devOrigin);
    if (url.pathname === '/' && (request.method === 'GET' || request.method === 'HEAD')) return send(response, 200, 'text/html; charset=utf-8', devPageHtml());
    if (url.pathname === '/__alga/page.js') return send(response, 200, 'text/javascript; charset=utf-8', pageScript);
    if (url.pathname === '/__alga/state') return send(response, 200, 'application/json', JSON.stringify(state()));
    if (url.pathname === '/__alga/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
      if (request.method === 'HEAD') return void response.end(); // the stream's headers, without holding it open
      response.write(`event: state\ndata: ${JSON.stringify(state())}\n\n`);
      clients.add(response);
      request.on('close', () => clients.delete(response));
      return;
    }
    const api = /^\/api\/ext\/([^/]+)(\/.*)?$/.exec(url.pathname);
    if (api) return callExtension(request, response, decodeURIComponent(api[1]), api[2] ?? '/', url.search.replace(/^\?/, ''));
    sendError(response, 404, new AlgaError('E_NOT_FOUND', `${request.method} ${url.pathname}`), 'dev');
  }

  function state() {
    return {
      extensionId: current?.manifest.name,
      version: current?.manifest.version,
      contentHash: current?.engineHash,
      ui: current?.manifest.ui?.iframe ? { origin: uiOrigin, entry: current.manifest.ui.iframe.entry } : undefined,
      endpoints: current?.manifest.api?.endpoints ?? [],
      error: lastError,
    };
  }

  async function callExtension(request: IncomingMessage, response: ServerResponse, extensionId: string, path: string, query: string): Promise<void> {
    const requestId = `dev-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const build = current!;
    if (extensionId !== build.manifest.name) return sendError(response, 404, new AlgaError('E_EXT_NOT_FOUND', `This dev server serves ${build.manifest.name}.`), requestId);
    const requested = (request.method ?? 'GET').toUpperCase();
    const declared = (build.manifest.api?.endpoints ?? []).filter((endpoint) => compilePathPattern(endpoint.path).match(path) !== null).map((endpoint) => endpoint.method as string);
    if (declared.length === 0) return sendError(response, 404, new AlgaError('E_EXT_NO_SUCH_PATH', `${requested} ${path}`), requestId);
    // As the gateway does: a HEAD on a GET endpoint calls the extension with GET (Node sends no body for a HEAD).
    const method = methodToCall(requested, (candidate) => declared.includes(candidate));
    if (method === undefined) {
      response.setHeader('allow', allowedMethods(declared).join(', '));
      return sendError(response, 405, new AlgaError('E_EXT_METHOD_NOT_ALLOWED'), requestId);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) if (typeof value === 'string' && !['cookie', 'authorization', 'host', 'connection'].includes(name)) headers[name] = value;
    const declaredCapabilities = build.manifest.capabilities as string[];
    const grants = (options.grants ?? declaredCapabilities).filter((capability) => !options.deny.includes(capability));
    const result = await runner.execute({
      context: { tenant_id: options.tenant, extension_id: build.manifest.name, install_id: `${options.tenant}-dev`, request_id: requestId, version: build.manifest.version, content_hash: build.engineHash },
      http: { method, path, query, headers, body_b64: Buffer.concat(chunks).toString('base64') },
      config: { ...options.config, [devHashKey]: build.codeHash, [devSourceKey]: build.code },
      providers: grants,
      egress: options.egress ?? build.manifest.egress ?? [],
      isolation: 'tenant',
      ...(Object.keys(options.secrets).length > 0 ? { secret_envelope: sealSecrets(options.secrets, runnerPublicKeyOf(secretKey)) } : {}),
    });
    const status = result.ok ? result.status : result.error.status;
    const line = `${requested} ${path}${query ? `?${query}` : ''} → ${status}${result.ok ? '' : ` ${result.error.code}`} (${result.execution?.duration_ms.toFixed(1) ?? '?'} ms)`;
    print(line);
    broadcast('log', { stream: 'request', level: status >= 400 ? 'warn' : 'info', message: line, request: requestId });
    if (!result.ok) return sendError(response, result.error.status, result.error, result.requestId);
    if (result.execution.error) print(`error ${result.execution.error.code}: ${result.execution.error.message}`);
    for (const [name, value] of Object.entries(result.headers)) if (!hopByHop.has(name)) response.setHeader(name, value);
    response.setHeader('x-request-id', requestId);
    response.writeHead(result.status);
    response.end(Buffer.from(result.body));
  }

  function serveUi(request: IncomingMessage, response: ServerResponse): void {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://ui').pathname).replace(/^\/+/, '');
    const name = path === '' ? (current?.manifest.ui?.iframe?.entry ?? 'index.html') : path;
    const bytes = current?.ui.get(name);
    const headers = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'content-security-policy': `frame-ancestors ${devOrigin}` };
    if (!bytes) {
      response.writeHead(404, { ...headers, 'content-type': 'text/plain; charset=utf-8' });
      response.end(`No ui/${name} in this build.\n`);
      return;
    }
    response.writeHead(200, { ...headers, 'content-type': contentTypes[extname(name).toLowerCase()] ?? 'application/octet-stream' });
    response.end(Buffer.from(bytes));
  }

  return {
    url: devOrigin,
    uiUrl: uiOrigin,
    rebuild,
    async close() {
      clearTimeout(timer);
      watcher.close();
      for (const client of clients) client.end();
      await Promise.all([close(server), close(uiServer)]);
      await runner.close();
    },
  };
}

/** The source map of code evaluated `lines` lines below the top of the text SpiderMonkey sees. */
function shiftedMap(map: string, lines: number): string {
  const parsed = JSON.parse(map) as { mappings: string };
  parsed.mappings = ';'.repeat(lines) + parsed.mappings;
  return JSON.stringify(parsed);
}

async function bundlePageScript(): Promise<string> {
  const result = await build({
    entryPoints: [new URL('./page-script.ts', import.meta.url).pathname],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Uint8Array): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  response.end(body);
}

function sendError(response: ServerResponse, status: number, error: AlgaError, requestId: string): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify({ error: { code: error.code, message: error.message }, request_id: requestId }));
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(new AlgaError('E_CLI_USAGE', `Cannot listen on ${host}:${port} (${error.code ?? error.message}); choose another --port.`)));
    server.listen(port, host, () => resolve());
  });
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

