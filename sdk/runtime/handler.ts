/// <reference path="./generated/extension@0.1.0.d.ts" />
import { toContext, toRequest } from './request.ts';
import { errorResponse, HttpError, type HttpResponse } from './response.ts';
import { Router, type RouteHandler } from './router.ts';

type WitRequestContext = import('alga:extension/types@0.1.0').RequestContext;
type WitHttpRequest = import('alga:extension/types@0.1.0').HttpRequest;

/** The `handler` export of the component (the WIT interface `alga:extension/handler`). */
export interface HandlerExport {
  handle(context: WitRequestContext, request: WitHttpRequest): HttpResponse;
}

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** A clear message for the mistakes the component boundary would otherwise report cryptically. */
function checkResponse(response: unknown, method: string, path: string): HttpResponse {
  if (isThenable(response)) {
    throw new TypeError(`The handler for ${method} ${path} returned a Promise; handlers must answer synchronously (host calls are synchronous, no async/await).`);
  }
  const candidate = response as Partial<HttpResponse> | null | undefined;
  if (!candidate || typeof candidate.status !== 'number' || !Array.isArray(candidate.headers) || !(candidate.body instanceof Uint8Array)) {
    throw new TypeError(`The handler for ${method} ${path} returned ${candidate === undefined ? 'nothing' : 'something that is not a response'}; return json(), text(), bytes() or status().`);
  }
  return candidate as HttpResponse;
}

/**
 * Makes the component's `handler` export from a router or a function:
 *
 *   export const handler = defineHandler(router);
 *
 * An `HttpError` thrown by a handler becomes its status with a JSON error body. Any other
 * exception is left to trap: the runner answers 500 with the request id and discards the instance.
 */
export function defineHandler(target: Router | RouteHandler): HandlerExport {
  const run: RouteHandler = target instanceof Router ? (request, context) => target.route(request, context) : target;
  return {
    handle(witContext, witRequest) {
      try {
        return checkResponse(run(toRequest(witRequest), toContext(witContext)), witRequest.method, witRequest.path);
      } catch (error) {
        if (error instanceof HttpError) return errorResponse(error.status, error.message, error.headers);
        throw error;
      }
    },
  };
}
