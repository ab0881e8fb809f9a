import { AlgaError } from '../lib/errors/index.ts';
import type { SealedSecretEnvelope } from '../lib/sealed-secrets.ts';
import type { RequestedLimits } from './limits.ts';
import type { IsolationPolicy } from './pool/protocol.ts';

/** What changes with every call: who calls which install, and the HTTP request. */
export interface ExecuteCall {
  context: {
    tenant_id: string;
    extension_id: string;
    install_id: string;
    request_id?: string;
    version: string;
    content_hash: string;
  };
  http: {
    method: string;
    path: string;
    query?: string;
    headers?: Record<string, string>;
    body_b64?: string;
  };
  /**
   * Names the install's fields below (a content hash the host derives from them): the runner
   * prepares them once per revision and keeps them (runner/prepared-installs.ts). A call that
   * names a revision the runner already holds may leave the fields out.
   */
  install_revision?: string;
}

/** What an install fixes for all its calls (prepared once per `install_revision`). */
export interface InstallFields {
  limits?: RequestedLimits;
  config?: Record<string, unknown>;
  providers?: string[];
  egress?: string[];
  isolation?: IsolationPolicy;
  ui_proxy?: { route_base?: string };
  secret_envelope?: SealedSecretEnvelope;
  /** Secrets sealed one by one (the host seals each install secret on its own); opened after `secret_envelope`, a later value wins. */
  secret_envelopes?: SealedSecretEnvelope[];
}

/** The body of `POST /v1/execute` (and the argument of `runner.execute`). */
export type ExecuteRequest = ExecuteCall & InstallFields;

/** The fields of an execute request that belong to the install. */
export const installFieldNames = ['limits', 'config', 'providers', 'egress', 'isolation', 'ui_proxy', 'secret_envelope', 'secret_envelopes'] as const;

const bad = (detail: string): never => {
  throw new AlgaError('E_RUNNER_BAD_REQUEST', detail);
};

const isRecord = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

const maxStringLength = 512;

function requireString(value: unknown, field: string, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > maxStringLength) bad(`${field} must be a non-empty string of at most ${maxStringLength} characters.`);
  if (pattern && !pattern.test(value as string)) bad(`${field} has an invalid format.`);
  return value as string;
}

function stringList(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) bad(`${field} must be a list of strings.`);
  return value as string[];
}

const identifier = /^[A-Za-z0-9._:@\-]+$/;

/** An id as an execute request's context takes one (tenant, extension, install, request). */
export const isIdentifier = (value: unknown): value is string => typeof value === 'string' && value.length <= maxStringLength && identifier.test(value);

/** Checks the shape of a whole execute request; throws E_RUNNER_BAD_REQUEST naming the field. */
export function parseExecuteRequest(value: unknown): ExecuteRequest {
  parseExecuteCall(value);
  return parseInstallFields(value as Record<string, unknown>) as ExecuteRequest;
}

/** Checks the per-call part of an execute request (context, http, install_revision). */
export function parseExecuteCall(value: unknown): ExecuteCall {
  if (!isRecord(value)) return bad('The body must be a JSON object.');
  const { context, http } = value;
  if (!isRecord(context)) return bad('context must be an object.');
  if (!isRecord(http)) return bad('http must be an object.');
  requireString(context.tenant_id, 'context.tenant_id', identifier);
  requireString(context.extension_id, 'context.extension_id', identifier);
  requireString(context.install_id, 'context.install_id', identifier);
  requireString(context.version, 'context.version');
  requireString(context.content_hash, 'context.content_hash', /^sha256:[0-9a-f]{64}$/);
  if (context.request_id !== undefined) requireString(context.request_id, 'context.request_id', identifier);
  requireString(http.method, 'http.method', /^[A-Z]{1,16}$/);
  requireString(http.path, 'http.path', /^\//);
  if (http.query !== undefined && typeof http.query !== 'string') bad('http.query must be a string.');
  if (http.headers !== undefined && (!isRecord(http.headers) || Object.values(http.headers).some((header) => typeof header !== 'string'))) bad('http.headers must map names to strings.');
  if (http.body_b64 !== undefined && typeof http.body_b64 !== 'string') bad('http.body_b64 must be a base64 string.');
  if (value.install_revision !== undefined) requireString(value.install_revision, 'install_revision', identifier);
  return value as unknown as ExecuteCall;
}

/** True when the request carries none of the install's fields (it names a prepared revision instead). */
export function omitsInstallFields(value: Record<string, unknown>): boolean {
  return installFieldNames.every((name) => value[name] === undefined);
}

/** Checks the install's part of an execute request. */
export function parseInstallFields(value: Record<string, unknown>): InstallFields {
  if (value.limits !== undefined && value.limits !== null && (!isRecord(value.limits) || Object.values(value.limits).some((limit) => limit !== null && typeof limit !== 'number'))) {
    bad('limits must map names to numbers.');
  }
  if (value.config !== undefined && !isRecord(value.config)) bad('config must be an object.');
  stringList(value.providers, 'providers');
  stringList(value.egress, 'egress');
  if (value.isolation !== undefined && value.isolation !== 'tenant' && value.isolation !== 'request') bad('isolation must be "tenant" or "request".');
  if (value.ui_proxy !== undefined && (!isRecord(value.ui_proxy) || (value.ui_proxy.route_base !== undefined && typeof value.ui_proxy.route_base !== 'string'))) bad('ui_proxy.route_base must be a string.');
  if (value.secret_envelope !== undefined && value.secret_envelope !== null && !isRecord(value.secret_envelope)) bad('secret_envelope must be an object.');
  if (value.secret_envelopes !== undefined && (!Array.isArray(value.secret_envelopes) || value.secret_envelopes.length > 256 || !value.secret_envelopes.every(isRecord))) {
    bad('secret_envelopes must be a list of at most 256 envelope objects.');
  }
  return value as InstallFields;
}
