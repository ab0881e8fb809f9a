// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/handler@0.1.0' {
  export function handle(context: RequestContext, request: HttpRequest): HttpResponse;
  export type RequestContext = import('alga:extension/types@0.1.0').RequestContext;
  export type HttpRequest = import('alga:extension/types@0.1.0').HttpRequest;
  export type HttpResponse = import('alga:extension/types@0.1.0').HttpResponse;
}
