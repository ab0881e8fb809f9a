/// <reference path="./generated/extension@0.1.0.d.ts" />
/**
 * @alga/extension-runtime — what extension handlers import. Bundled into the guest: pure
 * code, no Node APIs. Each host wrapper imports only its own WIT interface, so a component
 * imports (and needs capabilities for) only what its code uses.
 */
export { defineHandler, type HandlerExport } from './handler.ts';
export { Router, createRouter, type RouteHandler } from './router.ts';
export { json, text, bytes, status, respond, HttpError, type HttpErrorOptions, type HttpResponse, type HeadersInit, type ResponseInit } from './response.ts';
export type { ExtensionContext, ExtensionRequest } from './request.ts';
export { compilePathPattern, matchPath, isValidPathPattern, PathPatternError, type PathPattern, type PathParams } from './path-pattern.ts';
export {
  HostError,
  HostDeniedError,
  HostNotFoundError,
  HostInvalidError,
  HostLimitError,
  HostUnavailableError,
  type HostErrorKind,
} from './errors.ts';
export { utf8, fromUtf8, jsonBytes, parseJsonBytes, toBytes, type BodyInit } from './bytes.ts';
export {
  storage,
  StorageConflictError,
  type StorageEntry,
  type StoragePage,
  type ListOptions,
  type Versioned,
  type Expectation,
  type ConditionalResult,
  type StorageConflict,
  type BatchOperation,
  type BatchStepResult,
  type StorageTransaction,
  type TransactionOptions,
} from './storage.ts';
export { http, type FetchInit, type FetchResponse } from './http.ts';
export { secrets } from './secrets.ts';
export { log, type LogLevel, type LogFields } from './log.ts';
export { metrics, type MetricLabels } from './metrics.ts';
export { uiProxy } from './ui-proxy.ts';
