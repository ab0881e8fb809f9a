/// <reference path="./generated/extension@0.1.0.d.ts" />
import { failureResponse, InvalidResponseError } from './failure.ts';
import { toContext, toRequest } from './request.ts';
import type { HttpResponse } from './response.ts';
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
    throw new InvalidResponseError(`The handler for ${method} ${path} returned a Promise; handlers must answer synchronously (host calls are synchronous, no async/await).`);
  }
  const candidate = response as Partial<HttpResponse> | null | undefined;
  if (!candidate || typeof candidate.status !== 'number' || !Array.isArray(candidate.headers) || !(candidate.body instanceof Uint8Array)) {
    throw new InvalidResponseError(`The handler for ${method} ${path} returned ${candidate === undefined ? 'nothing' : 'something that is not a response'}; return json(), text(), bytes() or status().`);
  }
  return candidate as HttpResponse;
}

/**
 * Makes the component's `handler` export from a router or a function:
 *
 *   export const handler = defineHandler(router);
 *
 * Nothing a handler throws traps the instance (module state survives): an `HttpError` becomes its
 * status with the one error body; any other exception (a failed host call included) answers 500
 * with a catalog code, and its cause and stack go to the execution record and the debug stream.
 */
export function defineHandler(target: Router | RouteHandler): HandlerExport {
  const run: RouteHandler = target instanceof Router ? (request, context) => target.route(request, context) : target;
  return {
    handle(witContext, witRequest) {
      try {
        return checkResponse(run(toRequest(witRequest), toContext(witContext)), witRequest.method, witRequest.path);
      } catch (error) {
        return failureResponse(error, witContext.requestId, witRequest.method, witRequest.path);
      }
    },
  };
}
