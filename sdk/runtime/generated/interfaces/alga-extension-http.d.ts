// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/http@0.1.0' {
  export function fetch(request: OutboundRequest): OutboundResponse;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
  export interface OutboundRequest {
    method: string,
    url: string,
    headers: Array<[string, string]>,
    body: Uint8Array,
    /**
     * Capped by the install's limits.
     */
    timeoutMs?: number,
  }
  export interface OutboundResponse {
    status: number,
    headers: Array<[string, string]>,
    body: Uint8Array,
  }
}
