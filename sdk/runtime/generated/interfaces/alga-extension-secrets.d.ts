// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/secrets@0.1.0' {
  /**
   * None when the install has no secret of that name.
   */
  export function get(name: string): string | undefined;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
}
