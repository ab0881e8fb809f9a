/**
 * @alga/extension-iframe-sdk — what an extension's UI (running in the host's sandboxed iframe)
 * imports to talk to the host page: handshake, API calls, theme tokens, navigation, resize.
 */
export { ExtensionBridge, createBridge, type BridgeOptions, type CallApiInit } from './bridge.ts';
export { callApi, configureBridge, defaultBridge, navigate, onThemeTokens, ready, resize } from './default-bridge.ts';
export { ApiResponse } from './api-response.ts';
export { BridgeError, type BridgeErrorCode } from './errors.ts';
export { applyThemeTokens, cssVariableName } from './theme.ts';
export { parseOrigin } from './origin.ts';
export { PARENT_ORIGIN_PARAM, resolveParentOrigin } from './parent-origin.ts';
export {
  ENVELOPE_VERSION,
  MESSAGE_TYPES,
  makeEnvelope,
  readEnvelope,
  type ApiProxyRequest,
  type ApiProxyResponse,
  type BootstrapPayload,
  type Envelope,
  type MessageType,
  type NavigatePayload,
  type ResizePayload,
  type ThemeTokens,
} from './envelope.ts';
