import { ApiResponse, bytesOf, encodeBody } from './api-response.ts';
import {
  makeEnvelope,
  readEnvelope,
  type ApiProxyRequest,
  type ApiProxyResponse,
  type BootstrapPayload,
  type Envelope,
  type MessageType,
  type ThemeTokens,
} from './envelope.ts';
import { BridgeError } from './errors.ts';
import { resolveParentOrigin } from './parent-origin.ts';
import { applyThemeTokens } from './theme.ts';

export interface BridgeOptions {
  /** The host page's origin; default: the `parentOrigin` query parameter the host sets. */
  parentOrigin?: string;
  /** The frame's window; default: the global `window`. */
  window?: Window;
  /** The window to talk to; default: `window.parent`. */
  parent?: Window;
  /** How long `ready()` and `callApi()` wait for the host, in ms; default 30000 (longer than the gateway's own deadline). */
  timeoutMs?: number;
  /** Apply theme tokens from the host as CSS variables on the document element; default true. */
  applyTheme?: boolean;
  /** Report the document's height to the host whenever it changes; default false. */
  autoResize?: boolean;
}

export interface CallApiInit {
  method?: string;
  headers?: Record<string, string>;
  /** Text and bytes are sent as they are; any other value as JSON. */
  body?: unknown;
  /** Overrides the bridge's timeout for this call. */
  timeoutMs?: number;
}

interface PendingCall {
  resolve: (envelope: Envelope) => void;
  reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** The extension UI's side of the postMessage bridge to the host page. */
export class ExtensionBridge {
  readonly parentOrigin: string;
  private readonly win: Window;
  private readonly parent: Window;
  private readonly timeoutMs: number;
  private readonly themeEnabled: boolean;
  private readonly pending = new Map<string, PendingCall>();
  private readonly themeListeners = new Set<(tokens: ThemeTokens) => void>();
  private bootstrapPayload: BootstrapPayload | null = null;
  private readyPromise: Promise<BootstrapPayload> | null = null;
  private readyWaiter: { resolve: (payload: BootstrapPayload) => void } | null = null;
  private resizeObserver: ResizeObserver | null = null;
  private lastReportedHeight = -1;
  private sequence = 0;
  private closed = false;
  private readonly onMessage = (event: MessageEvent) => this.receive(event);

  constructor(options: BridgeOptions = {}) {
    this.win = options.window ?? window;
    this.parent = options.parent ?? this.win.parent;
    this.parentOrigin = resolveParentOrigin(this.win, options.parentOrigin);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.themeEnabled = options.applyTheme ?? true;
    this.win.addEventListener('message', this.onMessage);
    if (options.autoResize) this.startAutoResize();
  }

  /** What the host sent in `bootstrap`, once it has. */
  get bootstrap(): BootstrapPayload | null {
    return this.bootstrapPayload;
  }

  /** Announces the UI to the host and resolves with its `bootstrap` (tenant, extension, theme). */
  ready(): Promise<BootstrapPayload> {
    if (this.readyPromise) return this.readyPromise;
    this.readyPromise = new Promise<BootstrapPayload>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.readyWaiter = null;
        this.readyPromise = null;
        reject(new BridgeError('E_BRIDGE_TIMEOUT', `The host page did not answer "ready" within ${this.timeoutMs} ms.`));
      }, this.timeoutMs);
      this.readyWaiter = {
        resolve: (payload) => {
          clearTimeout(timer);
          resolve(payload);
        },
      };
      this.post('ready', { version: '1' });
    });
    return this.readyPromise;
  }

  /** Calls the extension's own API (`/api/ext/{extensionId}{path}`) through the host, with the user's session. */
  async callApi(path: string, init: CallApiInit = {}): Promise<ApiResponse> {
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
      throw new BridgeError('E_BRIDGE_INVALID', `The API path must start with a single "/": got "${path}".`);
    }
    const { bytes, json } = encodeBody(init.body);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (json && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const request: ApiProxyRequest = { path, method: (init.method ?? 'GET').toUpperCase(), headers, body: bytes };
    const answer = await this.request('apiproxy', request, init.timeoutMs ?? this.timeoutMs);
    const payload = answer.payload as Partial<ApiProxyResponse>;
    if (payload.error) throw new BridgeError('E_BRIDGE_UNAVAILABLE', `${payload.error.code}: ${payload.error.message}`);
    return new ApiResponse({
      status: Number(payload.status ?? 0),
      headers: { ...(payload.headers ?? {}) },
      body: bytesOf(payload.body),
    });
  }

  /** Asks the host to navigate to `path` inside the extension (e.g. `/settings`). */
  navigate(path: string): void {
    if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
      throw new BridgeError('E_BRIDGE_INVALID', `The navigation path must start with a single "/": got "${path}".`);
    }
    this.post('navigate', { path });
  }

  /** Asks the host to make the iframe `height` pixels tall (default: the document's height). */
  resize(height?: number): void {
    const value = Math.ceil(height ?? this.documentHeight());
    if (!Number.isFinite(value) || value < 0) return;
    this.lastReportedHeight = value;
    this.post('resize', { height: value });
  }

  /** Calls `listener` with every set of theme tokens the host sends; returns an unsubscribe function. */
  onThemeTokens(listener: (tokens: ThemeTokens) => void): () => void {
    this.themeListeners.add(listener);
    return () => this.themeListeners.delete(listener);
  }

  /** Stops listening; pending calls fail with E_BRIDGE_CLOSED. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.win.removeEventListener('message', this.onMessage);
    this.resizeObserver?.disconnect();
    for (const [id, call] of this.pending) {
      clearTimeout(call.timer);
      call.reject(new BridgeError('E_BRIDGE_CLOSED', 'The bridge was closed before the host answered.'));
      this.pending.delete(id);
    }
  }

  private request(type: MessageType, payload: unknown, timeoutMs: number): Promise<Envelope> {
    if (this.closed) return Promise.reject(new BridgeError('E_BRIDGE_CLOSED', 'The bridge is closed.'));
    const requestId = this.nextRequestId();
    return new Promise<Envelope>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new BridgeError('E_BRIDGE_TIMEOUT', `The host did not answer "${type}" within ${timeoutMs} ms.`));
      }, timeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.post(type, payload, requestId);
    });
  }

  private post(type: MessageType, payload: unknown, requestId?: string): void {
    if (this.closed) return;
    this.parent.postMessage(makeEnvelope(type, payload, requestId), this.parentOrigin);
  }

  private receive(event: MessageEvent): void {
    if (event.origin !== this.parentOrigin || event.source !== this.parent) return;
    const envelope = readEnvelope(event.data);
    if (!envelope) return;
    switch (envelope.type) {
      case 'bootstrap':
        return this.receiveBootstrap(envelope.payload as BootstrapPayload);
      case 'theme_tokens':
        return this.receiveTheme(envelope.payload as ThemeTokens);
      case 'apiproxy_response':
        return this.settle(envelope);
      default:
        return;
    }
  }

  private receiveBootstrap(payload: BootstrapPayload): void {
    if (typeof payload !== 'object' || payload === null) return;
    this.bootstrapPayload = payload;
    if (payload.theme) this.receiveTheme(payload.theme);
    this.readyWaiter?.resolve(payload);
    this.readyWaiter = null;
  }

  private receiveTheme(tokens: ThemeTokens): void {
    if (typeof tokens !== 'object' || tokens === null) return;
    if (this.themeEnabled) applyThemeTokens(tokens, this.win.document.documentElement);
    for (const listener of this.themeListeners) listener(tokens);
  }

  private settle(envelope: Envelope): void {
    const call = envelope.request_id ? this.pending.get(envelope.request_id) : undefined;
    if (!call || !envelope.request_id) return;
    this.pending.delete(envelope.request_id);
    clearTimeout(call.timer);
    call.resolve(envelope);
  }

  private startAutoResize(): void {
    const Observer = (this.win as Window & { ResizeObserver?: typeof ResizeObserver }).ResizeObserver;
    if (!Observer) return;
    this.resizeObserver = new Observer(() => {
      const height = Math.ceil(this.documentHeight());
      if (height !== this.lastReportedHeight) this.resize(height);
    });
    this.resizeObserver.observe(this.win.document.documentElement);
  }

  private documentHeight(): number {
    const root = this.win.document.documentElement;
    return Math.max(root.scrollHeight, root.getBoundingClientRect().height);
  }

  private nextRequestId(): string {
    this.sequence += 1;
    const random = this.win.crypto?.randomUUID?.() ?? Math.random().toString(36).slice(2);
    return `${random}-${this.sequence}`;
  }
}

/** A bridge to the host page; see BridgeOptions for the defaults. */
export function createBridge(options: BridgeOptions = {}): ExtensionBridge {
  return new ExtensionBridge(options);
}
