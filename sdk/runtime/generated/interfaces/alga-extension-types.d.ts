// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
declare module 'alga:extension/types@0.1.0' {
  /**
   * Who is calling and with what install: set by the host for every request.
   */
  export interface RequestContext {
    tenantId: string,
    extensionId: string,
    installId: string,
    requestId: string,
    version: string,
    contentHash: string,
    /**
     * The install's configuration, as name/value pairs.
     */
    config: Array<[string, string]>,
  }
  /**
   * An HTTP request routed to the extension by the host gateway.
   */
  export interface HttpRequest {
    method: string,
    /**
     * Path below the extension's mount point, always starting with `/`.
     */
    path: string,
    /**
     * Raw query string without the leading `?`.
     */
    query: string,
    headers: Array<[string, string]>,
    body: Uint8Array,
  }
  /**
   * The extension's answer.
   */
  export interface HttpResponse {
    status: number,
    headers: Array<[string, string]>,
    body: Uint8Array,
  }
  /**
   * Why a host call failed. The string says what happened in one sentence.
   */
  export type HostError = HostErrorDenied | HostErrorNotFound | HostErrorInvalid | HostErrorLimit | HostErrorUnavailable;
  /**
   * The install was not granted the capability, or the target is not allowed.
   */
  export interface HostErrorDenied {
    tag: 'denied',
    val: string,
  }
  export interface HostErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  export interface HostErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * A quota or size limit was reached.
   */
  export interface HostErrorLimit {
    tag: 'limit',
    val: string,
  }
  /**
   * The host service is temporarily unavailable.
   */
  export interface HostErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
}
