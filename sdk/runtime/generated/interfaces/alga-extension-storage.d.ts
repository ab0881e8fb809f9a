// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./alga-extension-types.d.ts" />
declare module 'alga:extension/storage@0.1.0' {
  export function get(key: string): Uint8Array | undefined;
  export function put(key: string, value: Uint8Array): void;
  /**
   * True when the key existed.
   */
  export { _delete as delete };
  function _delete(key: string): boolean;
  /**
   * Keys starting with `prefix`, in key order, at most `limit` per page.
   */
  export function listByPrefix(prefix: string, cursor: string | undefined, limit: number): Page;
  export type HostError = import('alga:extension/types@0.1.0').HostError;
  export interface Entry {
    key: string,
    value: Uint8Array,
  }
  export interface Page {
    entries: Array<Entry>,
    /**
     * Pass back to `list` to read the next page; none when this was the last.
     */
    cursor?: string,
  }
}
