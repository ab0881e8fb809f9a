import { EventEmitter } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { contentHashOf, type Manifest } from '../lib/bundle/index.ts';
import { AlgaError, isAlgaError } from '../lib/errors/index.ts';
import { Admission } from './admission.ts';
import { CapabilityDispatcher } from './capabilities/index.ts';
import type { Denial } from './capabilities/factor.ts';
import { createHttpFactor } from './capabilities/http.ts';
import { createLoggingFactor } from './capabilities/logging.ts';
import { createMetricsFactor } from './capabilities/metrics.ts';
import { createSecretsFactor } from './capabilities/secrets.ts';
import { createStorageFactor } from './capabilities/storage.ts';
import { createUiProxyFactor } from './capabilities/ui-proxy.ts';
import { resolveConfig, type ResolvedRunnerConfig, type RunnerConfig } from './config.ts';
import { DebugEvents } from './debug/events.ts';
import { Execution } from './execution-scope.ts';
import { StackMapper } from './debug/stack-map.ts';
import { takeGuestFailure } from './guest-failure.ts';
import { parseExecuteCall, type ExecuteCall } from './execute-request.ts';
import { effectiveLimits, type EffectiveLimits } from './limits.ts';
import { PreparedInstalls, type PreparedInstall } from './prepared-installs.ts';
import { guestStatus, responseHeaders } from './response-headers.ts';
import { openRunnerDatabase, type RunnerDatabase } from './fleet/database.ts';
import { BundleSource } from './loading/bundle-source.ts';
import { PreparedList } from './loading/prepared-list.ts';
import { ExtensionCache, type LoadedExtension } from './loading/extension-cache.ts';
import type { GuestRequest } from './pool/protocol.ts';
import { registerPoolMetrics } from './pool/pool-metrics.ts';
import { WorkerPool, type PoolOutcome } from './pool/worker-pool.ts';
import { KeyValueStore } from './storage/key-value-store.ts';
import { openLmdbStorageEngine } from './storage/lmdb-engine.ts';
import { openPostgresStorageEngine } from './storage/postgres-engine.ts';

/** What an execution did, for the host's execution log (also in every answer). */
export interface ExecutionRecord {
  request_id: string;
  tenant: string;
  extension: string;
  install: string;
  version: string;
  content_hash: string;
  status: number;
  outcome: 'ok' | 'deadline' | 'trap' | 'memory' | 'invalid-response' | 'rejected' | 'error';
  duration_ms: number;
  memory_bytes: number;
  egress_bytes: number;
  host_calls: number;
  log_events: number;
  /** The first `maxDenialsPerExecution` denials; the rest are counted in `denials_dropped`. */
  denials: Denial[];
  denials_dropped: number;
  /** Debug events (logs, stdio, denials) past the execution's budget, not emitted. */
  debug_events_dropped: number;
  error?: { code: string; message: string };
}

export type ExecuteResult =
  | { ok: true; status: number; headers: Record<string, string>; body: Uint8Array; execution: ExecutionRecord }
  | { ok: false; error: AlgaError; requestId: string; retryAfterSeconds?: number; execution?: ExecutionRecord };


/**
 * The runner as a library: loads bundles by hash, runs handlers in the worker pool with the
 * install's grants, and reports every execution. The HTTP server and `alga-ext run` both use it.
 */
export class Runner extends EventEmitter {
  readonly config: ResolvedRunnerConfig;
  readonly registry = new Registry();
  readonly events: DebugEvents;
  readonly extensions: ExtensionCache;
  /** `alga.storage` data of every tenant's installs (also purged through the HTTP API). */
  readonly storage: KeyValueStore;
  /** Maps guest stack frames to the extension's TypeScript (source maps from the components). */
  readonly stacks = new StackMapper();
  private readonly pool: WorkerPool<Execution>;
  private readonly dispatcher: CapabilityDispatcher;
  private readonly admission: Admission;
  /** Install fields prepared once per install revision (bounded). */
  readonly preparedInstalls: PreparedInstalls;
  private readonly executions: Counter;
  private readonly duration: Histogram;
  private readonly memory: Histogram;
  private readonly errors: Counter;
  private readonly denials: Counter;
  private readonly workerReplacements: Counter;
  /** Versions prepared ahead (POST /v1/prepare), prepared again when the runner starts. */
  private readonly prepared: PreparedList;
  /** Tells one runner process (or library instance) from the next: a caller that sees it change prepares its versions again. */
  readonly bootId = randomUUID();
  private closed = false;
  /** A fleet's PostgreSQL (shared bundles and storage), when configured. */
  readonly database?: RunnerDatabase;

  constructor(config: RunnerConfig) {
    super();
    this.config = resolveConfig(config);
    mkdirSync(this.config.dataDir, { recursive: true, mode: 0o700 });
    collectDefaultMetrics({ register: this.registry, prefix: 'runner_' });
    const registry = this.registry;
    this.events = new DebugEvents(this.config.debug, registry);
    this.executions = new Counter({ name: 'runner_executions_total', help: 'Executions by outcome.', labelNames: ['outcome'], registers: [registry] });
    this.duration = new Histogram({
      name: 'runner_execution_duration_seconds',
      help: 'Execution duration (admission to answer).',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.memory = new Histogram({ name: 'runner_execution_memory_bytes', help: 'Guest linear memory after the execution.', buckets: [16, 32, 64, 128, 256, 512].map((mb) => mb * 1048576), registers: [registry] });
    this.errors = new Counter({ name: 'runner_errors_total', help: 'Failed executions by error kind.', labelNames: ['kind'], registers: [registry] });
    this.denials = new Counter({ name: 'runner_denials_total', help: 'Host calls refused, by capability.', labelNames: ['capability'], registers: [registry] });
    this.workerReplacements = new Counter({ name: 'runner_worker_replacements_total', help: 'Workers terminated and replaced.', registers: [registry] });
    const admission = () => this.admission;
    new Gauge({
      name: 'runner_executions_in_flight',
      help: 'Executions running or queued.',
      registers: [registry],
      collect(this: Gauge) {
        this.set(admission().inFlight);
      },
    });

    this.database = this.config.databaseUrl ? openRunnerDatabase(this.config.databaseUrl) : undefined;
    this.extensions = new ExtensionCache({
      source: new BundleSource({ bundleDir: this.config.bundleDir, registryUrl: this.config.registryUrl, serviceToken: this.config.serviceToken, shared: this.database }),
      trust: this.config.trust,
      transpileDir: join(this.config.dataDir, 'transpiled'),
      compiledCacheBytes: this.config.compiledCacheBytes,
      registry,
      onEvict: (codeKey) => this.pool.forget(codeKey),
      onCompiled: (code) => this.pool.prepare(code),
      loaderThread: this.config.loaderThread,
    });
    this.storage = new KeyValueStore(
      this.config.storageEngine ?? (this.database ? openPostgresStorageEngine(this.database) : openLmdbStorageEngine({ path: join(this.config.dataDir, 'storage') })),
    );
    this.dispatcher = new CapabilityDispatcher(
      [
        createStorageFactor({ store: this.storage, registry }),
        createHttpFactor({ allowPrivate: this.config.egressAllowPrivate, registry }),
        createSecretsFactor({ secretKey: this.config.secretKey, secretKeyFile: this.config.secretKeyFile, registry }),
        createLoggingFactor({ registry }),
        createMetricsFactor({ registry }),
        createUiProxyFactor({ config: this.config.uiProxy, registry }),
      ],
      registry,
    );
    this.pool = new WorkerPool<Execution>(
      {
        workers: this.config.workers,
        reserveWorkers: this.config.reserveWorkers,
        maxInstances: this.config.instancesPerWorker,
        instanceMemoryBytes: this.config.instanceMemoryMb * 1048576,
        instantiateTimeoutMs: this.config.instantiateTimeoutMs,
      },
      {
        hostCall: (scope, call) => this.dispatcher.call(scope, call.iface, call.fn, call.args),
        stdio: (scope, stream, text, truncated) => void scope.debugEvent(stream === 'stderr' ? 'warn' : 'info', stream, this.stacks.mapFrames(scope.contentHash, text), truncated),
        workerEvent: (event) => event === 'replaced' && this.workerReplacements.inc(),
      },
    );
    registerPoolMetrics(registry, () => this.pool.stats());
    this.admission = new Admission(this.config.concurrency, () => this.pool.size);
    this.preparedInstalls = new PreparedInstalls(this.config.limits, preparedInstallsKept);
    const prepared = this.preparedInstalls;
    new Gauge({
      name: 'runner_prepared_installs',
      help: 'Install revisions prepared and kept (at most 4,096).',
      registers: [registry],
      collect(this: Gauge) {
        this.set(prepared.size);
      },
    });
    this.prepared = new PreparedList(join(this.config.dataDir, 'prepared.json'), this.config.preparedToRemember);
    void this.prepareRemembered();
  }

  get workers(): number {
    return this.pool.size;
  }

  /**
   * Runs one request. Never throws: failures come back as `{ok: false, error}` with the request id.
   * The body comes either as `http.body_b64` in `input` or, from an execute frame, as `bodyBytes`.
   */
  async execute(input: unknown, bodyBytes?: Uint8Array): Promise<ExecuteResult> {
    const started = performance.now();
    let request: ExecuteCall;
    let install: PreparedInstall;
    try {
      request = parseExecuteCall(input);
      if (bodyBytes && request.http.body_b64 !== undefined) throw new AlgaError('E_RUNNER_BAD_REQUEST', 'An execute frame carries its body after the envelope; http.body_b64 must not be set too.');
      install = this.preparedInstalls.resolve(request, input as Record<string, unknown>);
    } catch (error) {
      return { ok: false, error: error as AlgaError, requestId: requestIdOf(input) };
    }
    const requestId = request.context.request_id ?? randomUUID();
    const { context } = request;
    if (this.closed) return this.reject(request, requestId, started, new AlgaError('E_RUNNER_SHUTTING_DOWN'));

    let release: () => void;
    try {
      release = this.admission.admit(context.tenant_id, context.extension_id);
    } catch (error) {
      return this.reject(request, requestId, started, error as AlgaError, 1);
    }
    try {
      let extension: LoadedExtension;
      try {
        extension = await this.extensions.load(context.content_hash);
      } catch (error) {
        return this.reject(request, requestId, started, asAlgaError(error));
      }
      this.stacks.remember(extension.hash, extension.sourceMap);
      const { limits, providers } = install.termsFor(extension.manifest);
      const body = bodyBytes ?? Buffer.from(request.http.body_b64 ?? '', 'base64');
      if (body.length > limits.maxRequestBytes) return this.reject(request, requestId, started, new AlgaError('E_RUNNER_REQUEST_TOO_LARGE', `The limit is ${limits.maxRequestBytes} bytes.`));
      let code;
      try {
        code = await this.extensions.compile(extension, limits.memoryBytes);
      } catch (error) {
        return this.reject(request, requestId, started, asAlgaError(error));
      }

      const scope = new Execution(request, requestId, extension.manifest, install, limits, providers, this.events, this.denials);
      const policy = install.isolation ?? this.config.defaultIsolation;
      const guestRequest: GuestRequest = {
        method: request.http.method,
        path: request.http.path,
        query: request.http.query ?? '',
        headers: Object.entries(request.http.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
        // A buffer of its own (small Buffers are views into a shared pool), so the pool can move it to the worker.
        body: body.byteOffset === 0 && body.byteLength === body.buffer.byteLength ? new Uint8Array(body.buffer, 0, body.byteLength) : new Uint8Array(body),
      };
      const outcome = await this.pool.run(
        {
          // `request` policy instances are reset after every request, so any tenant may use any of them.
          instanceKey: policy === 'request' ? `request|${code.key}` : `tenant|${context.tenant_id}|${context.install_id}|${code.key}`,
          tenant: context.tenant_id,
          policy,
          recycleAfterRequests: this.config.recycleAfterRequests,
          recycleAfterMs: this.config.recycleAfterMs,
          maxStdioBytes: limits.maxStdioBytes,
          code,
          context: {
            tenantId: context.tenant_id,
            extensionId: context.extension_id,
            installId: context.install_id,
            requestId,
            version: context.version,
            contentHash: context.content_hash,
            config: install.config,
          },
          request: guestRequest,
          storageReads: scope.providers.has('alga.storage') && this.storage.engine.workerReadPath ? { path: this.storage.engine.workerReadPath } : undefined,
          deadlineMs: limits.timeoutMs,
          maxQueueWaitMs: this.config.concurrency.maxQueueWaitMs,
        },
        scope,
      );
      if (outcome.kind !== 'ok') scope.abort(); // stops the host calls still running for it
      if (outcome.kind !== 'deadline' && outcome.kind !== 'queue-timeout' && outcome.kind !== 'start-timeout') this.dispatcher.countServedInWorker(scope, outcome.servedInWorker);
      if (outcome.kind === 'queue-timeout') return this.reject(request, requestId, started, new AlgaError('E_RUNNER_QUEUE_TIMEOUT', `Request ${requestId}: ${outcome.message}`), 1);
      if (outcome.kind === 'start-timeout') return this.reject(request, requestId, started, new AlgaError('E_RUNNER_START_TIMEOUT', `Request ${requestId}: ${outcome.message}`), 1);
      const withheld = outcome.kind === 'ok' ? await this.dispatcher.settle(scope).then(() => undefined, (error: unknown) => (isAlgaError(error) ? error : new AlgaError('E_RUNNER_INTERNAL', undefined, { cause: error }))) : undefined;
      return this.finish(request, requestId, started, scope, outcome, limits.maxResponseBytes, withheld);
    } finally {
      release();
    }
  }

  /**
   * Makes a version ready before its first request: verified, transpiled, compiled with the
   * memory cap its installs use, the glue loaded in every worker and a warmed-up clean instance
   * ready in one. Remembered, so a restarted runner prepares it again. Throws an AlgaError.
   */
  async prepare(contentHash: string, memoryMb?: number, remember = true): Promise<{ content_hash: string; memory_mb: number; duration_ms: number }> {
    const started = performance.now();
    if (memoryMb !== undefined && !(Number.isInteger(memoryMb) && memoryMb > 0)) throw new AlgaError('E_RUNNER_BAD_REQUEST', 'memory_mb must be a positive whole number.');
    if (this.closed) throw new AlgaError('E_RUNNER_SHUTTING_DOWN');
    let code;
    let extension: LoadedExtension;
    try {
      extension = await this.extensions.load(contentHash);
      const { memoryBytes } = effectiveLimits(this.config.limits, extension.manifest, { memory_mb: memoryMb });
      code = await this.extensions.compile(extension, memoryBytes);
    } catch (error) {
      throw asAlgaError(error);
    }
    await this.pool.prepare(code, true);
    if (remember) this.prepared.remember({ content_hash: contentHash, ...(memoryMb === undefined ? {} : { memory_mb: memoryMb }) });
    const prepared = { content_hash: contentHash, memory_mb: code.memoryLimitBytes / 1048576, duration_ms: Math.round((performance.now() - started) * 1000) / 1000 };
    this.emit('prepared', prepared);
    return prepared;
  }

  /** Prepares, one after the other, what this runner's data folder says was prepared before it started. */
  private async prepareRemembered(): Promise<void> {
    for (const entry of [...this.prepared.all].reverse()) {
      if (this.closed) return;
      await this.prepare(entry.content_hash, entry.memory_mb, false).catch(() => {}); // unavailable now: the first request will say why
    }
  }

  /**
   * Runs a developer's own files without a signature (`alga-ext run`). The content hash is
   * computed from the files, so it can never collide with a published bundle's hash.
   */
  async registerLocal(manifest: Manifest, component: Uint8Array, ui = new Map<string, Uint8Array>()): Promise<string> {
    const hash = contentHashOf(Buffer.concat([Buffer.from('alga-local\0'), Buffer.from(JSON.stringify(manifest)), component]));
    await this.extensions.loadLocal(hash, manifest, component, ui);
    return hash;
  }

  /** A UI file of a loaded (verified) bundle, or an AlgaError. */
  async uiFile(contentHash: string, path: string, extensionId?: string): Promise<{ bytes: Uint8Array; path: string }> {
    const extension = await this.extensions.load(contentHash);
    if (extensionId !== undefined && extension.manifest.name !== extensionId) throw new AlgaError('E_RUNNER_UI_NOT_FOUND', `${contentHash} is not a version of ${extensionId}.`);
    const name = path === '' ? (extension.manifest.ui?.iframe?.entry ?? 'index.html') : path;
    const bytes = extension.ui.get(name);
    if (!bytes) throw new AlgaError('E_RUNNER_UI_NOT_FOUND', `No ui/${name} in ${contentHash}.`);
    return { bytes, path: name };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.close();
    await this.extensions.close();
    await this.dispatcher.close();
    await this.storage.close();
    await this.events.close();
    await this.database?.close();
  }

  /** `withheld`: a factor could not settle the execution (CapabilityFactor.settle), so its answer is this error instead. */
  private finish(request: ExecuteCall, requestId: string, started: number, scope: Execution, outcome: Exclude<PoolOutcome, { kind: 'queue-timeout' | 'start-timeout' }>, maxResponseBytes: number, withheld?: AlgaError): ExecuteResult {
    const base = this.recordBase(request, requestId, started);
    const { usage: used } = scope;
    const usage = { memory_bytes: outcome.memoryBytes, egress_bytes: used.egressBytes, host_calls: used.hostCalls, log_events: used.logEvents, denials: used.denials, denials_dropped: used.denialsDropped, debug_events_dropped: used.debugEventsDropped };
    if (withheld) return this.failed({ ...base, ...usage }, withheld, 'error', scope);
    if (outcome.kind === 'ok') {
      const failure = takeGuestFailure(outcome.response);
      let headers: Record<string, string>;
      try {
        guestStatus(outcome.response.status);
        headers = responseHeaders(outcome.response.headers, outcome.response.body.length, maxResponseBytes);
      } catch (error) {
        return this.failed({ ...base, ...usage }, error as AlgaError, 'invalid-response', scope);
      }
      const execution: ExecutionRecord = { ...base, ...usage, status: outcome.response.status, outcome: 'ok', ...(failure ? { error: failure } : {}) };
      if (failure) scope.emit('error', 'log', `${failure.code}: ${failure.message}`);
      this.account(execution);
      return { ok: true, status: outcome.response.status, headers, body: outcome.response.body, execution };
    }
    const error =
      outcome.kind === 'deadline'
        ? new AlgaError('E_RUNNER_DEADLINE', `Request ${requestId}: ${outcome.message}`)
        : outcome.kind === 'memory'
          ? new AlgaError('E_RUNNER_GUEST_MEMORY', `Request ${requestId}: ${outcome.message}`)
          : outcome.kind === 'invalid-response'
            ? new AlgaError('E_RUNNER_GUEST_INVALID_RESPONSE', `Request ${requestId}: ${outcome.message}`)
            : outcome.kind === 'load' && this.closed // the pool cut it off while closing
              ? new AlgaError('E_RUNNER_SHUTTING_DOWN', `Request ${requestId}: ${outcome.message}`)
            : outcome.kind === 'load'
              ? new AlgaError('E_RUNNER_TRANSPILE_FAILED', `Request ${requestId}: ${outcome.message}`)
              : new AlgaError('E_RUNNER_GUEST_TRAP', `Request ${requestId}: ${outcome.message}`);
    return this.failed({ ...base, ...usage }, error, outcome.kind === 'load' ? 'error' : outcome.kind, scope);
  }

  private failed(partial: Omit<ExecutionRecord, 'status' | 'outcome'>, error: AlgaError, outcome: ExecutionRecord['outcome'], scope?: Execution): ExecuteResult {
    const execution: ExecutionRecord = { ...partial, status: error.status, outcome, error: error.toJSON() };
    if (scope) scope.emit('error', 'log', error.message);
    this.account(execution);
    return { ok: false, error, requestId: partial.request_id, execution };
  }

  private reject(request: ExecuteCall, requestId: string, started: number, error: AlgaError, retryAfterSeconds?: number): ExecuteResult {
    const execution: ExecutionRecord = {
      ...this.recordBase(request, requestId, started),
      memory_bytes: 0,
      egress_bytes: 0,
      host_calls: 0,
      log_events: 0,
      denials: [],
      denials_dropped: 0,
      debug_events_dropped: 0,
      status: error.status,
      outcome: 'rejected',
      error: error.toJSON(),
    };
    this.account(execution);
    return { ok: false, error, requestId, retryAfterSeconds, execution };
  }

  private recordBase(request: ExecuteCall, requestId: string, started: number) {
    const { context } = request;
    return {
      request_id: requestId,
      tenant: context.tenant_id,
      extension: context.extension_id,
      install: context.install_id,
      version: context.version,
      content_hash: context.content_hash,
      duration_ms: Math.round((performance.now() - started) * 1000) / 1000,
    };
  }

  private account(execution: ExecutionRecord): void {
    this.executions.inc({ outcome: execution.outcome });
    this.duration.observe({ outcome: execution.outcome }, execution.duration_ms / 1000);
    if (execution.memory_bytes > 0) this.memory.observe(execution.memory_bytes);
    if (execution.error) this.errors.inc({ kind: execution.error.code });
    this.emit('execution', execution);
  }
}

/** Prepared installs the runner keeps (each a few hundred bytes, plus its secrets once opened). */
const preparedInstallsKept = 4096;

function asAlgaError(error: unknown): AlgaError {
  if (isAlgaError(error)) return error;
  return new AlgaError('E_RUNNER_TRANSPILE_FAILED', String((error as Error)?.message ?? error), { cause: error });
}

function requestIdOf(input: unknown): string {
  const id = (input as { context?: { request_id?: unknown } })?.context?.request_id;
  return typeof id === 'string' && id.length <= 128 ? id : randomUUID();
}

export function createRunner(config: RunnerConfig): Runner {
  return new Runner(config);
}
