import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';
import { capabilityByInterface } from '../../../../lib/bundle/capabilities.ts';
import { AlgaError, errorCatalog, type ErrorCode } from '../../../../lib/errors/index.ts';
import { Scope, hasScope, type HostAuth, type Principal } from '../../../core/auth/index.ts';
import type { HostConfig } from '../../../core/config.ts';
import { errorBody } from '../../../core/http-errors.ts';
import { isSessionCallAllowed } from '../../../core/request-site.ts';
import type { RunnerHandle } from '../../../core/runner/handle.ts';
import type { InstallRecord, InstallStore } from '../installs/install-store.ts';
import { envelopesOf } from '../installs/secrets.ts';
import type { RegistryStore } from '../registry/registry-store.ts';
import type { EndpointTable } from './endpoints.ts';
import { causeOf, denialsOf, type RunnerExecutionFigures } from './execution-cause.ts';
import type { ExecutionLog, ExecutionRecord } from './execution-log.ts';
import { forwardedRequestHeaders, gatewayAnswerHeaders, inertAnswerHeaders } from './headers.ts';
import type { QuotaTracker } from './quotas.ts';
import { postToRunner, type RunnerCallError } from './runner-client.ts';
import { clientCodeForRunnerFailure } from './runner-errors.ts';

export interface GatewayOptions {
  auth: HostAuth;
  installs: InstallStore;
  registry: RegistryStore;
  endpoints: EndpointTable;
  quotas: QuotaTracker;
  executions: ExecutionLog;
  runner: RunnerHandle;
  config: HostConfig;
  metrics: Registry;
  /** Sent as `ui_proxy.route_base` to installs granted `alga.ui_proxy`. */
  uiProxyRouteBase: string;
}

interface RunnerSuccess {
  status: number;
  headers?: Record<string, string>;
  body_b64?: string;
  execution?: RunnerExecutionFigures & { duration_ms?: number; memory_bytes?: number; egress_bytes?: number; error?: { code?: unknown; message?: unknown } };
}

const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** `/api/ext/{extensionId}/{...path}` → the tenant's install → the runner. */
export async function gatewayRoutes(app: FastifyInstance, options: GatewayOptions): Promise<void> {
  const { auth, installs, registry, endpoints, quotas, executions, runner, config } = options;
  const calls = new Counter({ name: 'alga_gateway_requests_total', help: 'Gateway calls by extension and outcome code.', labelNames: ['extension', 'status', 'code'], registers: [options.metrics] });
  const latency = new Histogram({
    name: 'alga_gateway_request_duration_seconds', help: 'Gateway call duration, runner included.', labelNames: ['extension'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [options.metrics],
  });

  // Every answer under /api/ext, the extension's and the gateway's own errors alike, is inert on the host origin.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(inertAnswerHeaders);
    return payload;
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: config.gatewayMaxBodyBytes }, (_request, body, done) => done(null, body));

  // 1. Who is calling: session or API token only, settled on the headers before any body is read
  // (and before any install data). A browser session counts only from the host's own pages
  // (request-site.ts); an API token from anywhere. Refusals are counted like every other gateway answer.
  const callers = new WeakMap<FastifyRequest, Principal & { tenantId: string }>();
  const refusalOf = (request: FastifyRequest, principal: Principal | undefined): ErrorCode | undefined => {
    if (request.headers.authorization === undefined && !isSessionCallAllowed(request)) return 'E_EXT_CROSS_ORIGIN';
    if (!principal) return 'E_AUTH_REQUIRED';
    if (!hasScope(principal, Scope.extCall) || principal.tenantId === undefined) return 'E_AUTH_FORBIDDEN';
    return undefined;
  };
  app.addHook('onRequest', async (request, reply) => {
    const principal = auth.principalOf(request);
    const refusal = refusalOf(request, principal);
    if (refusal) {
      const error = new AlgaError(refusal);
      calls.inc({ extension: 'unknown', status: String(error.status), code: refusal });
      return reply.status(error.status).send(errorBody(error, request.id));
    }
    callers.set(request, principal as Principal & { tenantId: string });
  });

  async function handle(request: FastifyRequest<{ Params: { extensionId: string } }>, reply: FastifyReply) {
    const started = performance.now();
    const { extensionId } = request.params;
    const [rawPath, rawQuery = ''] = (request.raw.url ?? '').split(/\?(.*)/s, 2);
    const path = `/${rawPath.split('/').slice(4).join('/')}`;
    let tenantId: string | undefined;
    let install: InstallRecord | undefined;
    const finish = (status: number, extra: Partial<ExecutionRecord> = {}) => {
      const durationMs = performance.now() - started;
      calls.inc({ extension: install ? extensionId : 'unknown', status: String(status), code: extra.error ?? '' });
      if (install) latency.observe({ extension: extensionId }, durationMs / 1000);
      if (tenantId && install) {
        executions.record({ requestId: request.id, at: new Date().toISOString(), tenantId, extensionId, version: install.version, method: request.method, path, status, durationMs: Math.round(durationMs * 100) / 100, ...extra });
      }
    };
    const fail = (code: ErrorCode, extra: Partial<ExecutionRecord> = {}, headers: Record<string, string> = {}) => {
      const error = new AlgaError(code);
      finish(error.status, { error: code, ...extra });
      return reply.status(error.status).headers(headers).send(errorBody(error, request.id));
    };

    // 1. The caller, checked in the onRequest hook above.
    const principal = callers.get(request);
    if (!principal) return fail('E_AUTH_REQUIRED');
    tenantId = principal.tenantId;

    // 2. The tenant's install of this extension, and the endpoint its manifest declares.
    // A tenant without an install gets the same 404 whether the extension exists or not; the
    // tenant that has one is told what is wrong with its call.
    const found = installs.get(tenantId, extensionId);
    if (!found) return fail('E_EXT_NOT_FOUND');
    if (!found.enabled) return fail('E_EXT_INSTALL_DISABLED');
    install = found;
    const manifest = () => registry.getVersion(found.extensionId, found.version)?.manifest;
    if (!endpoints.allows(found.contentHash, manifest, request.method, path)) {
      const allowed = endpoints.methodsFor(found.contentHash, manifest, path);
      return allowed.length > 0 ? fail('E_EXT_METHOD_NOT_ALLOWED', {}, { allow: allowed.join(', ') }) : fail('E_EXT_NO_SUCH_PATH');
    }

    // 3. Quotas.
    const quota = quotas.acquire(`${tenantId}\u0000${extensionId}`, found.limits);
    if (!quota.ok) {
      const cause = quota.reason === 'rate' ? `more than ${found.limits.requestsPerMinute} requests a minute (the install's limit)` : `more than ${found.limits.maxConcurrency} calls at once (the install's limit)`;
      return fail('E_EXT_RATE_LIMITED', { cause }, { 'retry-after': String(quota.retryAfterSeconds) });
    }

    try {
      const baseUrl = runner.baseUrl();
      if (!baseUrl || !runner.isAvailable()) return fail('E_RUNNER_UNAVAILABLE', { cause: 'the runner is down or restarting' });
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const payload = {
        context: { tenant_id: tenantId, extension_id: extensionId, install_id: found.id, request_id: request.id, version: found.version, content_hash: found.contentHash },
        http: {
          method: request.method,
          path,
          query: rawQuery,
          headers: forwardedRequestHeaders(request.headers),
        },
        limits: { timeout_ms: found.limits.timeoutMs, memory_mb: found.limits.memoryMb, max_request_bytes: config.gatewayMaxBodyBytes },
        config: found.config,
        providers: found.grants,
        egress: found.egress,
        isolation: 'tenant',
        ...(found.grants.includes(capabilityByInterface['ui-proxy']) ? { ui_proxy: { route_base: options.uiProxyRouteBase } } : {}),
        ...(found.secretEnvelope || found.secretEnvelopes ? { secret_envelopes: envelopesOf(found) } : {}),
      };
      let answer;
      try {
        answer = await postToRunner(baseUrl, '/v1/execute', runner.serviceToken, payload, config.gatewayTimeoutMs, body);
      } catch (error) {
        const failure = error as RunnerCallError;
        request.log.warn({ extensionId, runnerFailure: failure.kind, detail: failure.message }, 'runner call failed');
        if (failure.kind === 'unreachable') runner.reportUnreachable();
        const cause = failure.kind === 'timeout' ? `no answer within ${config.gatewayTimeoutMs} ms (EXT_GATEWAY_TIMEOUT_MS)` : failure.kind === 'unreachable' ? 'the runner could not be reached' : 'the runner gave an answer the host could not read';
        return fail(failure.kind === 'timeout' ? 'E_EXT_TIMEOUT' : 'E_RUNNER_UNAVAILABLE', { cause });
      }
      if (answer.status !== 200) {
        const refusal = answer.body as { error?: { code?: string; message?: string }; execution?: RunnerExecutionFigures } | undefined;
        const runnerError = refusal?.error;
        request.log.warn({ extensionId, runnerStatus: answer.status, runnerCode: runnerError?.code }, 'runner refused the call');
        const code = clientCodeForRunnerFailure(answer.status, runnerError?.code);
        const retryAfter = answer.headers['retry-after'];
        const retryHeaders: Record<string, string> = errorCatalog[code].status === 429 ? { 'retry-after': typeof retryAfter === 'string' && /^\d{1,6}$/.test(retryAfter) ? retryAfter : '1' } : {};
        const runnerCode = typeof runnerError?.code === 'string' ? runnerError.code.slice(0, 64) : code;
        const denials = denialsOf(refusal?.execution);
        const cause = causeOf({ code: runnerCode, ...denials, runnerMessage: runnerError?.message });
        return fail(code, { error: runnerCode, ...denials, ...(cause ? { cause } : {}) }, retryHeaders);
      }
      const result = answer.body as RunnerSuccess;
      // The runner checks the guest's answer too; the gateway never relies on it (docs/host.md).
      if (!Number.isInteger(result?.status) || result.status < 200 || result.status > 599) {
        request.log.warn({ extensionId, guestStatus: String(result?.status).slice(0, 16) }, 'extension answer refused: not a final status');
        return fail('E_EXT_BAD_RESPONSE', { cause: `the extension answered status ${String(result?.status).slice(0, 16)}, not a final HTTP status` });
      }
      const checked = gatewayAnswerHeaders(result.headers ?? {}, {
        ownOrigins: ownOrigins(request),
        requestUrl: `${request.protocol}://${request.host}${request.raw.url ?? '/'}`,
        extensionId,
        redirectOrigins: manifest()?.api?.redirectOrigins ?? [],
      });
      if (!('headers' in checked)) {
        request.log.warn({ extensionId, reason: checked.reason }, 'extension answer refused');
        return fail(checked.code, { cause: `its answer was refused: ${checked.reason}` });
      }
      const denials = denialsOf(result.execution);
      finish(result.status, {
        runnerDurationMs: result.execution?.duration_ms,
        memoryBytes: result.execution?.memory_bytes,
        egressBytes: result.execution?.egress_bytes,
        ...denials,
        ...(denials.denials ? { cause: causeOf(denials) } : {}),
        // An SDK extension's own account of its failure (its exception, the call it was refused) wins.
        ...reportedFailure(result.execution?.error),
      });
      reply.status(result.status).headers(checked.headers);
      if (answer.rawBody) return reply.send(answer.rawBody.length > 0 ? answer.rawBody : '');
      return reply.send(result.body_b64 ? Buffer.from(result.body_b64, 'base64') : '');
    } finally {
      quota.release();
    }
  }

  /** The request's own origin and HOST_PUBLIC_BASE's: where the extension's own API lives. */
  function ownOrigins(request: FastifyRequest): string[] {
    const origins = URL.canParse(`${request.protocol}://${request.host}`) ? [new URL(`${request.protocol}://${request.host}`).origin] : [];
    if (URL.canParse(config.env.HOST_PUBLIC_BASE ?? '')) origins.push(new URL(config.env.HOST_PUBLIC_BASE!).origin);
    return origins;
  }

  app.route({ method: [...methods], url: '/:extensionId', exposeHeadRoute: false, bodyLimit: config.gatewayMaxBodyBytes, handler: handle });
  app.route({ method: [...methods], url: '/:extensionId/*', exposeHeadRoute: false, bodyLimit: config.gatewayMaxBodyBytes, handler: handle });
}

/** The code and cause an extension reported with its own 5xx (SDK guests), as the runner passed them on. */
function reportedFailure(error: { code?: unknown; message?: unknown } | undefined): Partial<ExecutionRecord> {
  if (typeof error?.code !== 'string' || !/^E_[A-Z0-9_]{1,60}$/.test(error.code)) return {};
  return { error: error.code, ...(typeof error.message === 'string' && error.message !== '' ? { cause: error.message.slice(0, 300) } : {}) };
}
