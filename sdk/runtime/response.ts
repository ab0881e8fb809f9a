/// <reference path="./generated/extension@0.1.0.d.ts" />
import { jsonBytes, toBytes, type BodyInit } from './bytes.ts';

/** What a handler returns: the WIT `http-response` record. */
export type HttpResponse = import('alga:extension/types@0.1.0').HttpResponse;

/** Headers as an object (`{'cache-control': 'no-store'}`) or as name/value pairs. */
export type HeadersInit = Record<string, string> | Array<[string, string]>;

export interface ResponseInit {
  status?: number;
  headers?: HeadersInit;
}

function headerPairs(headers: HeadersInit | undefined): Array<[string, string]> {
  if (!headers) return [];
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([name, value]) => [name.toLowerCase(), String(value)]);
}

function statusOf(init: number | ResponseInit | undefined, fallback: number): number {
  const status = typeof init === 'number' ? init : init?.status ?? fallback;
  if (!Number.isInteger(status) || status < 200 || status > 599) throw new RangeError(`HTTP status must be a final status, an integer from 200 to 599, got ${status}`);
  return status;
}

/** A response with the given body and content type; explicit headers override the content type. */
export function respond(body: BodyInit, contentType: string | undefined, init?: number | ResponseInit, fallbackStatus = 200): HttpResponse {
  if (init === undefined) return { status: statusOf(undefined, fallbackStatus), headers: contentType ? [['content-type', contentType]] : [], body: toBytes(body) };
  const extra = headerPairs(typeof init === 'object' ? init.headers : undefined);
  const headers: Array<[string, string]> = [];
  if (contentType && !extra.some(([name]) => name === 'content-type')) headers.push(['content-type', contentType]);
  headers.push(...extra);
  return { status: statusOf(init, fallbackStatus), headers, body: toBytes(body) };
}

/** `json({ok: true})`, `json(item, 201)`, `json(item, {status: 201, headers: {...}})`. */
export function json(value: unknown, init?: number | ResponseInit): HttpResponse {
  return respond(jsonBytes(value), 'application/json; charset=utf-8', init);
}

/** A plain-text response. */
export function text(body: string, init?: number | ResponseInit): HttpResponse {
  return respond(body, 'text/plain; charset=utf-8', init);
}

/** A response with raw bytes and the given content type. */
export function bytes(body: Uint8Array, contentType = 'application/octet-stream', init?: number | ResponseInit): HttpResponse {
  return respond(body, contentType, init);
}

/** A response with no body: `status(204)`, `status(302, {location: '/next'})`. */
export function status(code: number, headers?: HeadersInit): HttpResponse {
  return respond(undefined, undefined, { status: code, headers });
}

/** A code for the error body: a catalog code, or the extension's own (`E_ITEM_EXISTS`). */
export interface HttpErrorOptions {
  code?: string;
  headers?: HeadersInit;
}

/**
 * Throw from a handler to answer with an error status: `throw new HttpError(400, 'name is required')`,
 * `throw new HttpError(409, 'Already there.', {code: 'E_ITEM_EXISTS'})`. `defineHandler` turns it into
 * the one error body `{"error": {"code", "message"}, "request_id"}`; without a code it is
 * E_EXT_REQUEST_REFUSED for a 4xx status and E_EXT_UNHANDLED for a 5xx.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly headers?: HeadersInit;

  constructor(status: number, message: string, options: HttpErrorOptions = {}) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
    this.code = options.code ?? (status >= 500 ? 'E_EXT_UNHANDLED' : 'E_EXT_REQUEST_REFUSED');
    this.headers = options.headers;
  }
}

/** The one error body, `{"error": {"code", "message"}, "request_id"}`, with its status. */
export function errorResponse(code: number, error: { code: string; message: string }, requestId: string, headers?: HeadersInit): HttpResponse {
  return json({ error: { code: error.code, message: error.message }, request_id: requestId }, { status: code, headers });
}
