import { randomUUID } from 'node:crypto';
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { createAuditLog, type AuditLog } from './audit.ts';
import { createAuth, type HostAuth } from './auth/index.ts';
import { sessionCookieSigner } from './auth/session-signer.ts';
import { startSessionSweep, type SessionSweep } from './auth/session-sweep.ts';
import type { HostConfig } from './config.ts';
import { createHostEvents, type HostEvents } from './events.ts';
import { AlgaError } from '../../lib/errors/index.ts';
import { installBodyGuard } from './body-guard.ts';
import { badUrlError, clientErrorAnswer, installErrorHandler, rateLimitError } from './http-errors.ts';
import type { InfraSecrets } from './infra-secrets.ts';
import { createHostMetrics, type HostMetrics } from './metrics.ts';
import type { HostContext, HostPlugin } from './plugin.ts';
import { orderPlugins } from './plugin-loader.ts';
import { registerAdminRoutes } from './routes/admin-routes.ts';
import { registerAuthRoutes } from './routes/auth-routes.ts';
import { registerHealthRoutes } from './routes/health-routes.ts';
import type { RunnerHandle } from './runner/handle.ts';
import { coreMigrations } from './core-migrations.ts';
import { connectFleetRedis } from '../../lib/fleet/redis.ts';
import { fleetRateLimitStore } from './rate-limit-store.ts';
import type { HostStore } from './store.ts';

export interface HostAppOptions {
  config: HostConfig;
  secrets: InfraSecrets;
  store: HostStore;
  runner: RunnerHandle;
  plugins: readonly HostPlugin[];
  /** Where `lifecycle.announce` lines go (stdout by default). */
  announce?: (line: string) => void;
  logLevel?: string;
}

export interface HostApp {
  app: FastifyInstance;
  auth: HostAuth;
  audit: AuditLog;
  events: HostEvents;
  metrics: HostMetrics;
  /** Deletes expired sessions at start and hourly; stopped by `close`. */
  sessionSweep: SessionSweep;
  /** What a plugin exposed with `host.plugins.expose` (as other plugins see it). */
  plugin<T>(name: string): T | undefined;
  /** Call after listen: runs the plugins' onListening listeners; /readyz counts the plugins ready from then on. */
  listening(url: string): Promise<void>;
  /**
   * Refuses new requests (503 E_HOST_SHUTTING_DOWN), lets those in flight finish for up to
   * `config.http.shutdownDrainMs` and then closes their connections, closes fastify, stops the
   * session sweep and runs the plugins' onClose listeners (which write what they hold).
   */
  close(): Promise<void>;
}

/** What the access log keeps of a request: never the query string, which may carry a signed link's signature. */
function accessLogRequest(request: { method: string; url: string; ip?: string }): { method: string; path: string; remoteAddress?: string } {
  return { method: request.method, path: request.url.split('?')[0], remoteAddress: request.ip };
}

/** Builds the fastify app: core routes, auth, metrics, then every plugin in dependency order. */
export async function buildHostApp(options: HostAppOptions): Promise<HostApp> {
  const { config, secrets, store, runner } = options;
  const app = Fastify({
    logger: {
      level: options.logLevel ?? config.env.ALGA_LOG_LEVEL ?? 'info',
      redact: ['req.headers.authorization', 'req.headers.cookie'],
      serializers: { req: accessLogRequest },
    },
    logController: new LogController({ disableRequestLogging: config.env.ALGA_ACCESS_LOG !== '1' }),
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    bodyLimit: 1024 * 1024,
    trustProxy: config.trustedProxies,
    frameworkErrors: badUrlError,
    // A whole request (headers and body) must arrive within this; Node checks every second.
    requestTimeout: config.http.requestTimeoutMs,
    http: { connectionsCheckingInterval: 1000 },
    clientErrorHandler: clientErrorAnswer,
    // Requests that arrive while the host stops get the catalog's 503 (below), not fastify's own body.
    return503OnClosing: false,
  });
  let closing = false;
  store.migrate('core', coreMigrations);
  const audit = createAuditLog(store);
  const auth = createAuth({ store, audit, secureCookies: config.secureCookies, runnerServiceToken: secrets.runnerServiceToken });
  const events = createHostEvents((name, error) => app.log.error({ err: error, event: name }, 'event listener failed'));
  const metrics = createHostMetrics();
  const listeningListeners: Array<(info: { url: string }) => void | Promise<void>> = [];
  const closeListeners: Array<() => void | Promise<void>> = [];
  const announce = options.announce ?? ((line: string) => process.stdout.write(`${line}\n`));
  const exposed = new Map<string, unknown>();
  let pluginsReady = false;

  installErrorHandler(app, { dataDir: config.dataDir });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    reply.header('connection', 'close').header('retry-after', '5');
    done(new AlgaError('E_HOST_SHUTTING_DOWN'));
  });
  installBodyGuard(app, { minBytesPerSecond: config.http.bodyMinBytesPerSecond, graceMs: config.http.bodyGraceMs });
  await app.register(cookie, { secret: sessionCookieSigner(() => secrets.sessionKeys) });
  // A session cookie signed by a rotated-out key is re-signed with the active one.
  app.addHook('onSend', async (request, reply) => auth.renewSessionCookie(request, reply));
  // A fleet node counts sign-in and other route limits in Redis, so they hold across nodes.
  const redis = config.fleet.redisUrl ? connectFleetRedis(config.fleet.redisUrl, (error) => app.log.warn({ err: error.message }, 'Redis is not answering')) : undefined;
  // Routes opt in with `config.rateLimit`; a used-up limit answers 429 E_RATE_LIMITED with Retry-After.
  await app.register(rateLimit, { global: false, errorResponseBuilder: rateLimitError, ...(redis ? { store: fleetRateLimitStore(redis, `${config.fleet.redisPrefix}:rate-limit:`) } : {}) });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    metrics.httpDuration.observe({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const sharedChecks: Record<string, () => boolean> = {};
  if (store.health) sharedChecks.database = () => store.health?.() === 'up';
  if (redis) sharedChecks.redis = () => redis.status === 'ready';
  registerHealthRoutes(app, { runner, metrics: metrics.registry, pluginsReady: () => pluginsReady, checks: sharedChecks });
  registerAuthRoutes(app, auth);
  registerAdminRoutes(app, auth, audit);

  for (const plugin of orderPlugins(options.plugins)) {
    await app.register(async (routes) => {
      const log = app.log.child({ plugin: plugin.name });
      const host: HostContext = {
        routes,
        store,
        auth,
        secrets,
        events,
        config,
        log,
        audit,
        runner,
        metrics: metrics.registry,
        lifecycle: {
          onListening: (listener) => void listeningListeners.push(listener),
          onClose: (listener) => void closeListeners.push(listener),
          announce,
        },
        plugins: {
          expose: (api) => void exposed.set(plugin.name, api),
          get: <T>(name: string) => exposed.get(name) as T | undefined,
        },
      };
      await plugin.register(host);
      log.debug({ version: plugin.version }, 'plugin registered');
    }, { prefix: plugin.prefix ?? '' });
  }
  await app.ready();
  const sessionSweep = startSessionSweep({ store, log: app.log });

  return {
    app,
    auth,
    audit,
    events,
    metrics,
    sessionSweep,
    plugin: <T>(name: string) => exposed.get(name) as T | undefined,
    async listening(url) {
      for (const listener of listeningListeners) await listener({ url });
      // Ready once every plugin has started (the setup plugin has written its claim token), not merely loaded.
      pluginsReady = true;
    },
    async close() {
      closing = true;
      const drain = setTimeout(() => {
        app.log.warn({ drainMs: config.http.shutdownDrainMs }, 'requests still in flight when the drain ended; closing their connections');
        app.server.closeAllConnections();
      }, config.http.shutdownDrainMs);
      try {
        await app.close();
      } finally {
        clearTimeout(drain);
      }
      await sessionSweep.stop();
      for (const listener of closeListeners.reverse()) {
        try {
          await listener();
        } catch (error) {
          app.log.error({ err: error }, 'plugin close listener failed');
        }
      }
      redis?.disconnect();
    },
  };
}
