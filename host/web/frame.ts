import { PARENT_ORIGIN_PARAM } from '../../sdk/iframe/parent-origin.ts';
import { parseOrigin } from '../../sdk/iframe/origin.ts';

export interface ExtensionFrame {
  src: string;
  sandbox: string;
  /** The origin the frame's messages carry: the install's own UI origin. */
  origin: string;
}

/**
 * The iframe for an installed extension's UI:
 * `{install's UI base}/ext-ui/{extensionId}/{contentHash}/{ticket}/{ui.iframe.entry}?parentOrigin={host}`.
 *
 * The UI base is the install's own origin (docs/ui.md, "Origins"), never the host's: the sandbox
 * keeps that origin (`allow-same-origin`) so the UI has storage of its own and the host can check
 * `event.origin` exactly, and it still cannot reach the host page's DOM, cookies or storage.
 */
export function extensionFrame(input: {
  /** The install's UI origin plus any base path (lib/ext-ui/origins.ts). */
  uiBase: string;
  hostOrigin: string;
  extensionId: string;
  contentHash: string;
  /** The signed ticket (lib/ext-ui/tickets.ts). */
  ticket: string;
  entry: string;
}): ExtensionFrame {
  const uiBase = new URL(input.uiBase);
  const uiOrigin = parseOrigin(uiBase.origin);
  const hostOrigin = parseOrigin(input.hostOrigin);
  if (!uiOrigin) throw new Error(`The UI base ${input.uiBase} is not an http(s) URL.`);
  if (!hostOrigin) throw new Error(`${input.hostOrigin} is not an http(s) origin.`);
  if (new URL(uiOrigin).hostname === new URL(hostOrigin).hostname) {
    throw new Error(`The UI origin ${uiOrigin} has the host's own host name; extension UIs need host names of their own.`);
  }
  const entry = entrySegments(input.entry);
  const basePath = uiBase.pathname.replace(/\/+$/, '');
  const path = [basePath, 'ext-ui', encodeURIComponent(input.extensionId), encodeURIComponent(input.contentHash), encodeURIComponent(input.ticket), ...entry].join('/');
  const src = new URL(path, uiOrigin);
  src.searchParams.set(PARENT_ORIGIN_PARAM, hostOrigin);
  return { src: src.href, sandbox: 'allow-scripts allow-forms allow-same-origin', origin: uiOrigin };
}

/** `ui.iframe.entry` as URL-encoded path segments; it must stay inside the bundle's ui/ folder. */
function entrySegments(entry: string): string[] {
  const segments = entry.split('/');
  if (entry.startsWith('/') || segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.includes('\\'))) {
    throw new Error(`ui.iframe.entry "${entry}" is not a relative path inside ui/.`);
  }
  return segments.map(encodeURIComponent);
}
