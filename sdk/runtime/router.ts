import { compilePathPattern, type PathPattern } from './path-pattern.ts';
import { extensionErrors } from '../../lib/errors/extension.ts';
import { errorResponse, type HttpResponse } from './response.ts';
import type { ExtensionContext, ExtensionRequest } from './request.ts';

/** A route or handler function. Host calls are synchronous, so handlers are too. */
export type RouteHandler = (request: ExtensionRequest, context: ExtensionContext) => HttpResponse;

interface Route {
  method: string;
  pattern: PathPattern;
  handler: RouteHandler;
}

/**
 * Method + path pattern → handler. Routes are tried in the order they were added; a path
 * that matches no route answers 404, one that matches only under other methods answers 405
 * with `allow`. HEAD falls back to the GET route with an empty body.
 */
export class Router {
  readonly #routes: Route[] = [];

  /** Adds a route; `method` is an HTTP method or `*` for any. Throws on an invalid pattern. */
  on(method: string, pattern: string, handler: RouteHandler): this {
    this.#routes.push({ method: method.toUpperCase(), pattern: compilePathPattern(pattern), handler });
    return this;
  }

  get(pattern: string, handler: RouteHandler): this {
    return this.on('GET', pattern, handler);
  }

  post(pattern: string, handler: RouteHandler): this {
    return this.on('POST', pattern, handler);
  }

  put(pattern: string, handler: RouteHandler): this {
    return this.on('PUT', pattern, handler);
  }

  patch(pattern: string, handler: RouteHandler): this {
    return this.on('PATCH', pattern, handler);
  }

  delete(pattern: string, handler: RouteHandler): this {
    return this.on('DELETE', pattern, handler);
  }

  all(pattern: string, handler: RouteHandler): this {
    return this.on('*', pattern, handler);
  }

  /** Answers one request: the matching route's response, or 404/405. */
  route(request: ExtensionRequest, context: ExtensionContext): HttpResponse {
    const method = request.method.toUpperCase();
    let allowed: string[] | undefined;
    let headFallback: { route: Route; params: Record<string, string> } | undefined;
    for (const route of this.#routes) {
      const params = route.pattern.match(request.path);
      if (!params) continue;
      if (route.method === method || route.method === '*') return route.handler({ ...request, params }, context);
      if (method === 'HEAD' && route.method === 'GET') headFallback ??= { route, params };
      if (!allowed) allowed = [route.method];
      else if (!allowed.includes(route.method)) allowed.push(route.method);
    }
    if (headFallback) {
      const response = headFallback.route.handler({ ...request, params: headFallback.params }, context);
      return { ...response, body: new Uint8Array(0) };
    }
    if (allowed) {
      const allow = allowed.sort().join(', ');
      const message = `${extensionErrors.E_EXT_ROUTE_METHOD_NOT_ALLOWED.message} ${method} is not allowed on ${request.path}; use ${allow}.`;
      return errorResponse(405, { code: 'E_EXT_ROUTE_METHOD_NOT_ALLOWED', message }, context.requestId, { allow });
    }
    return errorResponse(404, { code: 'E_EXT_ROUTE_NOT_FOUND', message: `${extensionErrors.E_EXT_ROUTE_NOT_FOUND.message} No route for ${method} ${request.path}.` }, context.requestId);
  }
}

export function createRouter(): Router {
  return new Router();
}
