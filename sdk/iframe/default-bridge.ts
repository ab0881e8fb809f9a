import type { ApiResponse } from './api-response.ts';
import { ExtensionBridge, type BridgeOptions, type CallApiInit } from './bridge.ts';
import type { BootstrapPayload, ThemeTokens } from './envelope.ts';

let shared: ExtensionBridge | null = null;

/**
 * The page's one bridge, created on first use with the default options (parent origin from
 * the `parentOrigin` query parameter, theme applied, auto-resize on); it says `ready` at once.
 * Call `configureBridge` before any other function to choose other options.
 */
export function defaultBridge(): ExtensionBridge {
  if (!shared) configureBridge({});
  return shared!;
}

/** Replaces the page's bridge with one made from `options`, and says `ready` to the host. */
export function configureBridge(options: BridgeOptions): ExtensionBridge {
  shared?.close();
  shared = new ExtensionBridge({ autoResize: true, ...options });
  shared.ready().catch(() => {
    // A host that never answers shows up as a timeout on the caller's own ready()/callApi().
  });
  return shared;
}

export const ready = (): Promise<BootstrapPayload> => defaultBridge().ready();
export const callApi = (path: string, init?: CallApiInit): Promise<ApiResponse> => defaultBridge().callApi(path, init);
export const navigate = (path: string): void => defaultBridge().navigate(path);
export const resize = (height?: number): void => defaultBridge().resize(height);
export const onThemeTokens = (listener: (tokens: ThemeTokens) => void): (() => void) => defaultBridge().onThemeTokens(listener);
