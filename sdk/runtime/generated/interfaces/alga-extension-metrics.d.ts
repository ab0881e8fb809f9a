// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/metrics@0.1.0' {
  export function counter(name: string, value: number, labels: Array<[string, string]>): void;
  export function histogram(name: string, value: number, labels: Array<[string, string]>): void;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
}
