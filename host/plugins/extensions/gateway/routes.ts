import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { capabilityByInterface } from '../../../../lib/bundle/capabilities.ts';
import { AlgaError, errorCatalog, type ErrorCode } from '../../../../lib/errors/index.ts';
import { Scope, hasScope, type HostAuth, type Principal } from '../../../core/auth/index.ts';
import type { HostConfig } from '../../../core/config.ts';
import { errorBody } from '../../../core/http-errors.ts';
import { isSessionCallAllowed } from '../../../core/request-site.ts';
import { callWithFailover, runnersFor } from '../../../core/runner/fleet.ts';
import type { RunnerHandle } from '../../../core/runner/handle.ts';
import type { InstallRecord, InstallStore } from '../installs/install-store.ts';
import { envelopesOf } from '../installs/secrets.ts';
import type { RegistryStore } from '../registry/registry-store.ts';
import type { EndpointTable } from './endpoints.ts';
import { causeOf, denialsOf } from './execution-cause.ts';
import type { ExecutionLog, ExecutionRecord } from './execution-log.ts';
import { forwardedRequestHeaders, gatewayAnswerHeaders, inertAnswerHeaders, type AnswerContext } from './headers.ts';
import type { Quotas } from './quotas.ts';
import type { RunnerCallError, RunnerClient } from './runner-client.ts';
import { clientCodeForRunnerFailure } from './runner-errors.ts';

export interface GatewayOptions {
  auth: HostAuth;
  installs: InstallStore;
  registry: RegistryStore;
  endpoints: EndpointTable;
  quotas: Quotas;
  executions: ExecutionLog;
  runner: RunnerHandle;
  /** Calls the runner (over its execute channel). */
  runnerClient: RunnerClient;
  config: HostConfig;
  metrics: Registry;
  /** Sent as `ui_proxy.route_base` to installs granted `alga.ui_proxy`. */
  uiProxyRouteBase: string;
}

/** What one gateway call knows so far, for its log row. */
interface CallState {
  started: number;
  extensionId: string;
  path: string;
  tenantId?: string;
  install?: Readonly<InstallRecord>;
}

/**
 * Where an answer is going, for the answer-header checks. The origins and the absolute URL are
 * worked out only when asked for (only a `Location` needs them), not on every call.
 */
class AnswerSite implements AnswerContext {
  constructor(
    private readonly request: FastifyRequest,
    readonly extensionId: string,
    readonly redirectOrigins: readonly string[],
    private readonly publicBase: string | undefined,
  ) {}

  /** The request's own origin and HOST_PUBLIC_BASE's: where the extension's own API lives. */
  get ownOrigins(): string[] {
    const own = `${this.request.protocol}://${this.request.host}`;
    const origins = URL.canParse(own) ? [new URL(own).origin] : [];
    if (URL.canParse(this.publicBase ?? '')) origins.push(new URL(this.publicBase!).origin);
    return origins;
  }

  get requestUrl(): string {
    return `${this.request.protocol}://${this.request.host}${this.request.raw.url ?? '/'}`;
  }
}

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** `/api/ext/{extensionId}/{...path}` → the tenant's install → the runner. */
export async function gatewayRoutes(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const { auth, installs, registry, endpoints, quotas, executions, runner, runnerClient, config } = options;
  const calls = new Counter({ name: 'alga_gateway_requests_total', help: 'Gateway calls by extension and outcome code.', labelNames: ['extension', 'status', 'code'], registers: [options.metrics] });
  const latency = new Histogram({
    name: 'alga_gateway_request_duration_seconds', help: 'Gateway call duration, runner included.', labelNames: ['extension'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [options.metrics],
  });

  // Every answer under /api/ext, the extension's and the gateway's own errors alike, is inert on the host origin.
  // (A callback hook, not an async one: no promise per call.)
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.headers(inertAnswerHeaders);
    done(null, payload);
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.gatewayMaxBodyBytes }, (_request, body, done) => done(null, body));

  /**
   * What the runner derives its prepared install from, made once per install record (the store
   * hands back the same frozen record until the install changes), so the runner client can
   * recognise it and send it once per revision.
   */
  const installFields = new WeakMap<Readonly<InstallRecord>, Record<string, unknown>>();
  function installFieldsOf(found: Readonly<InstallRecord>): Record<string, unknown> {
    let fields = installFields.get(found);
    if (!fields) {
      fields = {
        limits: { timeout_ms: found.limits.timeoutMs, memory_mb: found.limits.memoryMb, max_request_bytes: config.gatewayMaxBodyBytes },
        config: found.config,
        providers: found.grants,
        egress: found.egress,
        isolation: 'tenant',
        ...(found.grants.includes(capabilityByInterface['ui-proxy']) ? { ui_proxy: { route_base: options.uiProxyRouteBase } } : {}),
        ...(found.secretEnvelope || found.secretEnvelopes ? { secret_envelopes: envelopesOf(found) } : {}),
      };
      installFields.set(found, fields);
    }
    return fields;
  }

  /** Counts the call and writes its execution log row (once the install is known). */
  function finish(request: FastifyRequest, call: CallState, status: number, extra?: Partial<ExecutionRecord>) {
    const durationMs = performance.now() - call.started;
    const { install } = call;
    calls.inc({ extension: install ? call.extensionId : 'unknown', status: String(status), code: extra?.error ?? '' });
    if (!install || call.tenantId === undefined) return;
    latency.observe({ extension: call.extensionId }, durationMs / 1000);
    executions.record({ requestId: request.id, at: new Date().toISOString(), tenantId: call.tenantId, extensionId: call.extensionId, version: install.version, method: request.method, path: call.path, status, durationMs: Math.round(durationMs * 100) / 100, ...extra });
  }

  function fail(request: FastifyRequest, reply: FastifyReply, call: CallState, code: ErrorCode, extra?: Partial<ExecutionRecord>, headers?: Record<string, string>, detail?: string) {
    const error = new AlgaError(code, detail);
    finish(request, call, error.status, { error: code, ...extra });
    if (headers) reply.headers(headers);
    return reply.status(error.status).send(errorBody(error, request.id));
  }

  /**
   * 1. Who is calling: session or API token only, settled on the headers before any body is read
   * (and before any install data). A browser session counts only from the host's own pages
   * (request-site.ts); an API token from anywhere. Refusals are counted like every other answer.
   */
  const callers = new WeakMap<FastifyRequest, Principal>();
  function refusalOf(request: FastifyRequest, principal: Principal | undefined): ErrorCode | undefined {
    if (request.headers.authorization === undefined && !isSessionCallAllowed(request)) return 'E_EXT_CROSS_ORIGIN';
    if (!principal) return 'E_AUTH_REQUIRED';
    if (!hasScope(principal, Scope.extCall) || principal.tenantId === undefined) return 'E_AUTH_FORBIDDEN';
    return undefined;
  }
  async function checkCaller(request: FastifyRequest, reply: FastifyReply) {
    const principal = auth.principalOf(request);
    const refusal = refusalOf(request, principal);
    if (refusal === undefined) {
      callers.set(request, principal!);
      return;
    }
    const error = new AlgaError(refusal);
    calls.inc({ extension: 'unknown', status: String(error.status), code: refusal });
    return reply.status(error.status).send(errorBody(error, request.id));
  }
  app.addHook('onRequest', checkCaller);

  async function handle(request: FastifyRequest<{ Params: { extensionId: string } }>, reply: FastifyReply) {
    const url = request.raw.url ?? '';
    const queryAt = url.indexOf('?');
    const rawPath = queryAt < 0 ? url : url.slice(0, queryAt);
    const rawQuery = queryAt < 0 ? '' : url.slice(queryAt + 1);
    const call: CallState = { started: performance.now(), extensionId: request.params.extensionId, path: `/${rawPath.split('/').slice(4).join('/')}` };
    const { extensionId, path } = call;

    // 1. The caller, checked on the headers by checkCaller (above).
    const principal = callers.get(request);
    if (principal?.tenantId === undefined) return fail(request, reply, call, 'E_AUTH_REQUIRED');
    const tenantId = principal.tenantId;
    call.tenantId = tenantId;

    // 2. The tenant's install of this extension, and the endpoint its manifest declares.
    // A tenant without an install gets the same 404 whether the extension exists or not; the
    // tenant that has one is told what is wrong with its call.
    const found = installs.getShared(tenantId, extensionId);
    if (!found) return fail(request, reply, call, 'E_EXT_NOT_FOUND');
    if (!found.enabled) return fail(request, reply, call, 'E_EXT_INSTALL_DISABLED');
    call.install = found;
    if (!endpoints.has(found.contentHash)) endpoints.compile(found.contentHash, registry.getVersion(found.extensionId, found.version)?.manifest);
    // A HEAD on a GET endpoint calls the extension with GET; Node sends that answer's headers only.
    const method = endpoints.methodToCall(found.contentHash, request.method, path);
    if (method === undefined) {
      const allowed = endpoints.methodsFor(found.contentHash, path);
      if (allowed.length > 0) return fail(request, reply, call, 'E_EXT_METHOD_NOT_ALLOWED', undefined, { allow: allowed.join(', ') });
      // Only the tenant that has the install gets here: its manifest is no secret to it.
      const listed = endpoints.listed(found.contentHash);
      return fail(request, reply, call, 'E_EXT_NO_SUCH_PATH', undefined, undefined, `${request.method} ${path.slice(0, 200)}; it declares ${listed.length > 0 ? listed.join(', ') : 'none'}.`);
    }

    // 3. Quotas.
    // In-process quotas answer at once (no await on the embedded path); Redis quotas (a fleet) with a promise.
    const acquiring = quotas.acquire(`${tenantId}\u0000${extensionId}`, found.limits);
    const quota = acquiring instanceof Promise ? await acquiring : acquiring;
    if (!quota.ok) {
      if (quota.reason === 'unavailable') return fail(request, reply, call, 'E_QUOTA_UNAVAILABLE', { cause: 'Redis, which keeps the quotas of the fleet, did not answer' }, { 'retry-after': String(quota.retryAfterSeconds) });
      const cause = quota.reason === 'rate' ? `more than ${found.limits.requestsPerMinute} requests a minute (the install's limit)` : `more than ${found.limits.maxConcurrency} calls at once (the install's limit)`;
      return fail(request, reply, call, 'E_EXT_RATE_LIMITED', { cause }, { 'retry-after': String(quota.retryAfterSeconds) });
    }

    try {
      // One runner, or a fleet's runners in rendezvous order for this bundle (host/core/runner/fleet.ts).
      const targets = runnersFor(runner, found.contentHash);
      if (targets.length === 0) return fail(request, reply, call, 'E_RUNNER_UNAVAILABLE', { cause: 'the runner is down or restarting' });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const envelope = {
        context: { tenant_id: tenantId, extension_id: extensionId, install_id: found.id, request_id: request.id, version: found.version, content_hash: found.contentHash },
        http: { method, path, query: rawQuery, headers: forwardedRequestHeaders(request.headers) },
      };
      const install = installFieldsOf(found);
      let answer;
      try {
        answer = await callWithFailover(
          targets,
          (baseUrl) => runnerClient.call({ baseUrl, serviceToken: runner.serviceToken }, { envelope, install, body, timeoutMs: config.gatewayTimeoutMs }),
          (failedUrl) => request.log.warn({ extensionId, runner: failedUrl }, 'runner could not be reached; the call goes to the next one'),
        );
      } catch (error) {
        const failure = error as RunnerCallError;
        request.log.warn({ extensionId, runnerFailure: failure.kind, detail: failure.message }, 'runner call failed');
        const cause =
          failure.kind === 'timeout' ? `no answer within ${config.gatewayTimeoutMs} ms (EXT_GATEWAY_TIMEOUT_MS)`
          : failure.kind === 'unreachable' ? 'the runner could not be reached'
          : failure.kind === 'lost' ? 'the connection to the runner was lost during the call'
          : 'the runner gave an answer the host could not read';
        return fail(request, reply, call, failure.kind === 'timeout' ? 'E_EXT_TIMEOUT' : 'E_RUNNER_UNAVAILABLE', { cause });
      }
      if (!answer.ok) {
        request.log.warn({ extensionId, runnerStatus: answer.status, runnerCode: answer.code }, 'runner refused the call');
        const code = clientCodeForRunnerFailure(answer.status, answer.code);
        const retryHeaders: Record<string, string> = errorCatalog[code].status === 429 ? { 'retry-after': answer.retryAfter !== undefined && /^\d{1,6}$/.test(answer.retryAfter) ? answer.retryAfter : '1' } : {};
        const runnerCode = typeof answer.code === 'string' ? answer.code.slice(0, 64) : code;
        const denials = denialsOf(answer.execution);
        const cause = causeOf({ code: runnerCode, ...denials, runnerMessage: answer.message });
        return fail(request, reply, call, code, { error: runnerCode, ...denials, ...(cause ? { cause } : {}) }, retryHeaders);
      }
      // The runner checks the guest's answer too; the gateway never relies on it (docs/host.md).
      if (!Number.isInteger(answer.status) || answer.status < 200 || answer.status > 599) {
        request.log.warn({ extensionId, guestStatus: String(answer.status).slice(0, 16) }, 'extension answer refused: not a final status');
        return fail(request, reply, call, 'E_EXT_BAD_RESPONSE', { cause: `the extension answered status ${String(answer.status).slice(0, 16)}, not a final HTTP status` });
      }
      const checked = gatewayAnswerHeaders(answer.headers, new AnswerSite(request, extensionId, endpoints.redirectOrigins(found.contentHash), config.env.HOST_PUBLIC_BASE));
      if (!('headers' in checked)) {
        request.log.warn({ extensionId, reason: checked.reason }, 'extension answer refused');
        return fail(request, reply, call, checked.code, { cause: `its answer was refused: ${checked.reason}` });
      }
      const denials = denialsOf(answer.execution);
      finish(request, call, answer.status, {
        runnerDurationMs: answer.execution?.duration_ms,
        memoryBytes: answer.execution?.memory_bytes,
        egressBytes: answer.execution?.egress_bytes,
        ...denials,
        // An SDK extension's own account of its failure (its exception) is kept, but a refused
        // host call is shown as the capability the install lacks: that is what its admin can grant.
        ...reportedFailure(answer.execution?.error),
        ...(denials.denials ? { cause: causeOf(denials) } : {}),
      });
      reply.status(answer.status).headers(checked.headers);
      if (request.method === 'HEAD') {
        // The GET's headers, its length included, and no body (whatever the transport does with one).
        reply.header('content-length', String(answer.body.length));
        return reply.send();
      }
      return reply.send(answer.body.length > 0 ? answer.body : '');
    } finally {
      quota.release();
    }
  }

  app.route({ method: [...methods], url: '/:extensionId', exposeHeadRoute: false, bodyLimit: config.gatewayMaxBodyBytes, handler: handle });
  app.route({ method: [...methods], url: '/:extensionId/*', exposeHeadRoute: false, bodyLimit: config.gatewayMaxBodyBytes, handler: handle });
}

/** The code and cause an extension reported with its own 5xx (SDK guests), as the runner passed them on. */
function reportedFailure(error: { code?: unknown; message?: unknown } | undefined): Partial<ExecutionRecord> {
  if (typeof error?.code !== 'string' || !/^E_[A-Z0-9_]{1,60}$/.test(error.code)) return {};
  return { error: error.code, ...(typeof error.message === 'string' && error.message !== '' ? { cause: error.message.slice(0, 300) } : {}) };
}
