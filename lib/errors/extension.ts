import type { ErrorDefinition } from './index.ts';

/**
 * Errors an extension answers through the SDK (`sdk/runtime`): the guest bundles this file, so it
 * holds nothing but the entries. Bodies have the one shape `{error:{code,message},request_id}`.
 */
export const extensionErrors = {
  E_EXT_UNHANDLED: { status: 500, message: 'The extension failed while handling the request; the request id identifies it in the execution log and the debug stream.' },
  E_EXT_HOST_DENIED: { status: 500, message: 'The extension was refused a host call (a capability or egress host this install was not granted); the request id identifies it in the execution log.' },
  E_EXT_HOST_LIMIT: { status: 500, message: 'The extension reached a host limit (a quota or size); the request id identifies it in the execution log.' },
  E_EXT_HOST_CALL_FAILED: { status: 500, message: 'A host call of the extension failed; the request id identifies it in the execution log.' },
  E_EXT_INVALID_RESPONSE: { status: 500, message: 'The extension returned something that is not a response; the request id identifies it in the execution log.' },
  E_EXT_REQUEST_REFUSED: { status: 400, message: 'The extension refused the request.' },
  E_EXT_ROUTE_NOT_FOUND: { status: 404, message: 'The extension has no route for this path.' },
  E_EXT_ROUTE_METHOD_NOT_ALLOWED: { status: 405, message: 'The extension does not answer this method on this path.' },
  E_EXT_BODY_NOT_JSON: { status: 400, message: 'The request body is not valid JSON.' },
} as const satisfies Record<string, ErrorDefinition>;

export type ExtensionErrorCode = keyof typeof extensionErrors;
