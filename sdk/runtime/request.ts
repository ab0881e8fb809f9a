/// <reference path="./generated/extension@0.1.0.d.ts" />
import { fromUtf8 } from './bytes.ts';
import { HttpError } from './response.ts';
import type { PathParams } from './path-pattern.ts';

type WitRequestContext = import('alga:extension/types@0.1.0').RequestContext;
type WitHttpRequest = import('alga:extension/types@0.1.0').HttpRequest;

/** Who is calling and with which install; `config` is the install's configuration as an object. */
export interface ExtensionContext {
  tenantId: string;
  extensionId: string;
  installId: string;
  requestId: string;
  version: string;
  contentHash: string;
  config: Readonly<Record<string, string>>;
}

/** The request a handler sees. Header names are lower-case; `query` holds the first value of each name. */
export interface ExtensionRequest {
  method: string;
  path: string;
  /** Raw query string without the leading `?`. */
  rawQuery: string;
  query: Readonly<Record<string, string>>;
  /** Every value of a query parameter, in order. */
  queryAll(name: string): string[];
  headers: Readonly<Record<string, string>>;
  body: Uint8Array;
  /** Parameters captured by the route's path pattern (empty outside a router). */
  params: Readonly<PathParams>;
  text(): string;
  /** The body parsed as JSON; a body that is not JSON answers 400 through HttpError. */
  json<T = unknown>(): T;
}

export function toContext(context: WitRequestContext): ExtensionContext {
  return {
    tenantId: context.tenantId,
    extensionId: context.extensionId,
    installId: context.installId,
    requestId: context.requestId,
    version: context.version,
    contentHash: context.contentHash,
    config: Object.freeze(Object.fromEntries(context.config)),
  };
}

function decodeQueryPart(part: string): string {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
}

function parseQuery(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const equals = pair.indexOf('=');
      return equals < 0 ? [decodeQueryPart(pair), ''] : [decodeQueryPart(pair.slice(0, equals)), decodeQueryPart(pair.slice(equals + 1))];
    });
}

/** Repeated headers are joined with ", " as HTTP allows. */
function headerObject(headers: Array<[string, string]>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    result[key] = key in result ? `${result[key]}, ${value}` : value;
  }
  return result;
}

export function toRequest(request: WitHttpRequest, params: PathParams = {}): ExtensionRequest {
  const queryPairs = parseQuery(request.query);
  const query: Record<string, string> = {};
  for (const [name, value] of queryPairs) if (!(name in query)) query[name] = value;
  return {
    method: request.method.toUpperCase(),
    path: request.path,
    rawQuery: request.query,
    query,
    queryAll: (name) => queryPairs.filter(([key]) => key === name).map(([, value]) => value),
    headers: headerObject(request.headers),
    body: request.body,
    params,
    text: () => fromUtf8(request.body),
    json<T>(): T {
      try {
        return JSON.parse(fromUtf8(request.body)) as T;
      } catch {
        throw new HttpError(400, 'The request body is not valid JSON.', { code: 'E_EXT_BODY_NOT_JSON' });
      }
    },
  };
}
