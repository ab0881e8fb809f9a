import {
  makeEnvelope,
  readEnvelope,
  type ApiProxyRequest,
  type ApiProxyResponse,
  type BootstrapPayload,
  type MessageType,
  type ThemeTokens,
} from '../../../sdk/iframe/envelope.ts';
import { bytesOf } from '../../../sdk/iframe/api-response.ts';
import { parseOrigin } from '../../../sdk/iframe/origin.ts';
import { gatewayUrl } from './gateway-url.ts';

export interface HostBridgeOptions {
  window: Window;
  iframe: HTMLIFrameElement;
  /** The origin of the frame's document: the install's own UI origin (docs/ui.md), exactly. */
  frameOrigin: string;
  extensionId: string;
  /** What to answer `ready` with (called on every `ready`, so a reloaded UI gets the current theme). */
  bootstrap: () => BootstrapPayload;
  fetch?: typeof fetch;
  /** Called with the extension-relative path the UI asked to navigate to. */
  onNavigate?: (path: string) => void;
  minHeight?: number;
  maxHeight?: number;
}

export interface HostBridge {
  sendThemeTokens(tokens: ThemeTokens): void;
  close(): void;
}

const proxiedMethods = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']);
const headerName = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const withheldHeaders = /^(cookie|authorization|host|origin|referer|content-length|connection|proxy-.*|sec-.*|x-forwarded-.*)$/;

/** The host page's side of the bridge: answers the extension UI in `iframe` and nothing else. */
export function connectHostBridge(options: HostBridgeOptions): HostBridge {
  const { window: win, iframe, frameOrigin, extensionId } = options;
  const doFetch = options.fetch ?? win.fetch.bind(win);
  const minHeight = options.minHeight ?? 120;
  const maxHeight = options.maxHeight ?? 10_000;
  // Answers go to that origin only: if the frame has navigated anywhere else, the browser drops them.
  if (!parseOrigin(frameOrigin)) throw new Error(`The extension frame's origin "${frameOrigin}" is not an http(s) origin.`);

  const post = (type: MessageType, payload: unknown, requestId?: string): void => {
    iframe.contentWindow?.postMessage(makeEnvelope(type, payload, requestId), frameOrigin);
  };

  const forwardApiCall = async (requestId: string, request: Partial<ApiProxyRequest>): Promise<void> => {
    const answer = await callGateway(request);
    post('apiproxy_response', answer, requestId);
  };

  const callGateway = async (request: Partial<ApiProxyRequest>): Promise<ApiProxyResponse> => {
    const method = String(request.method ?? 'GET').toUpperCase();
    const url = gatewayUrl(win.location.origin, extensionId, String(request.path ?? ''));
    if (!url || !proxiedMethods.has(method)) {
      return failure('E_BRIDGE_INVALID', `Refused ${method} ${String(request.path)}: only the extension's own API can be called.`);
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers ?? {})) {
      const lower = name.toLowerCase();
      if (headerName.test(lower) && !withheldHeaders.test(lower) && typeof value === 'string') headers[lower] = value;
    }
    const body = method === 'GET' || method === 'HEAD' || request.body == null ? undefined : (bytesOf(request.body) as Uint8Array<ArrayBuffer>);
    try {
      const response = await doFetch(url, { method, headers, body, credentials: 'same-origin', redirect: 'error', cache: 'no-store' });
      const responseHeaders: Record<string, string> = {};
      response.headers.forEach((value, name) => {
        responseHeaders[name] = value;
      });
      return { status: response.status, headers: responseHeaders, body: new Uint8Array(await response.arrayBuffer()) };
    } catch (error) {
      return failure('E_BRIDGE_UNAVAILABLE', `The extension's API could not be reached: ${(error as Error).message}`);
    }
  };

  const onMessage = (event: MessageEvent): void => {
    if (event.source !== iframe.contentWindow || event.source === null) return;
    if (event.origin !== frameOrigin) return;
    const envelope = readEnvelope(event.data);
    if (!envelope) return;
    const payload = (envelope.payload ?? {}) as Record<string, unknown>;
    switch (envelope.type) {
      case 'ready':
        post('bootstrap', options.bootstrap());
        return;
      case 'apiproxy':
        if (envelope.request_id) void forwardApiCall(envelope.request_id, payload as Partial<ApiProxyRequest>);
        return;
      case 'resize': {
        const height = Number(payload.height);
        if (Number.isFinite(height)) iframe.style.height = `${Math.min(maxHeight, Math.max(minHeight, Math.ceil(height)))}px`;
        return;
      }
      case 'navigate': {
        const path = payload.path;
        if (typeof path === 'string' && path.startsWith('/') && !path.startsWith('//') && !/[\\\u0000-\u001f]/.test(path)) {
          options.onNavigate?.(path);
        }
        return;
      }
      default:
        return;
    }
  };

  win.addEventListener('message', onMessage);
  return {
    sendThemeTokens: (tokens) => post('theme_tokens', tokens),
    close: () => win.removeEventListener('message', onMessage),
  };
}

function failure(code: string, message: string): ApiProxyResponse {
  return { status: 0, headers: {}, body: new Uint8Array(0), error: { code, message } };
}
