/** The ways a bridge call can fail, each with a code the extension UI can branch on. */
export type BridgeErrorCode =
  | 'E_BRIDGE_PARENT_ORIGIN' // no valid parent origin to talk to
  | 'E_BRIDGE_TIMEOUT' // the host did not answer in time
  | 'E_BRIDGE_CLOSED' // close() was called while the call was pending
  | 'E_BRIDGE_INVALID' // the call itself is malformed (a path that is not `/…`)
  | 'E_BRIDGE_UNAVAILABLE'; // the host could not reach the extension's API

export class BridgeError extends Error {
  readonly code: BridgeErrorCode;

  constructor(code: BridgeErrorCode, message: string) {
    super(message);
    this.name = 'BridgeError';
    this.code = code;
  }
}
