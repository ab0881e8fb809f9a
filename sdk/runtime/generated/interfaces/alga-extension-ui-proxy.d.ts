// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/ui-proxy@0.1.0' {
  export function callRoute(route: string, payload: Uint8Array): Uint8Array;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
}
