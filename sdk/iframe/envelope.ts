/** The one message envelope spoken between an extension UI (iframe) and the host page. */

export const ENVELOPE_VERSION = '1';

export const MESSAGE_TYPES = [
  'ready',
  'bootstrap',
  'resize',
  'navigate',
  'apiproxy',
  'apiproxy_response',
  'theme_tokens',
] as const;

export type MessageType = (typeof MESSAGE_TYPES)[number];

export interface Envelope<T = unknown> {
  alga: true;
  version: typeof ENVELOPE_VERSION;
  type: MessageType;
  request_id?: string;
  payload: T;
}

/** CSS custom properties, e.g. `{"--alga-primary": "#1e40af"}` (the `--alga-` prefix is added when missing). */
export type ThemeTokens = Record<string, string>;

/** Sent by the host in answer to `ready`. */
export interface BootstrapPayload {
  tenantId: string;
  extensionId: string;
  /** The installed version and its bundle's content hash (`sha256:<hex>`). */
  version: string;
  contentHash: string;
  /** The path inside the extension the user opened, e.g. `/` or `/settings`. */
  path: string;
  theme: ThemeTokens;
  user?: { id: string; name?: string };
}

/** `apiproxy`: the UI asks the host to call the extension's own API at `/api/ext/{extensionId}{path}`. */
export interface ApiProxyRequest {
  path: string;
  method: string;
  headers: Record<string, string>;
  body?: Uint8Array | null;
}

/** `apiproxy_response`. `error` is set when the call could not be made at all (status 0). */
export interface ApiProxyResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array;
  error?: { code: string; message: string };
}

export interface ResizePayload {
  height: number;
}

export interface NavigatePayload {
  path: string;
}

export function makeEnvelope<T>(type: MessageType, payload: T, requestId?: string): Envelope<T> {
  const envelope: Envelope<T> = { alga: true, version: ENVELOPE_VERSION, type, payload };
  if (requestId !== undefined) envelope.request_id = requestId;
  return envelope;
}

/** The envelope in `data`, or null when `data` is not one of ours (other scripts post messages too). */
export function readEnvelope(data: unknown): Envelope | null {
  if (typeof data !== 'object' || data === null) return null;
  const candidate = data as Record<string, unknown>;
  if (candidate.alga !== true || candidate.version !== ENVELOPE_VERSION) return null;
  if (typeof candidate.type !== 'string' || !(MESSAGE_TYPES as readonly string[]).includes(candidate.type)) return null;
  if (candidate.request_id !== undefined && typeof candidate.request_id !== 'string') return null;
  if (!('payload' in candidate)) return null;
  return candidate as unknown as Envelope;
}
