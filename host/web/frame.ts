import { PARENT_ORIGIN_PARAM } from '../../sdk/iframe/parent-origin.ts';
import { parseOrigin } from '../../sdk/iframe/origin.ts';

export interface ExtensionFrame {
  src: string;
  sandbox: string;
  /** The origin the frame's messages carry: the runner's, or `null` when the sandbox makes it opaque. */
  origin: string;
}

/**
 * The iframe for an installed extension's UI:
 * `{RUNNER_PUBLIC_BASE}/ext-ui/{extensionId}/{contentHash}/{ui.iframe.entry}?parentOrigin={host}`.
 *
 * The sandbox allows scripts and forms. It adds `allow-same-origin` only when the runner's
 * origin differs from the host page's: then the frame keeps the runner's origin (so the host
 * can check `event.origin` and address it exactly) and still cannot reach the host page.
 * Served from the host's own origin, the frame stays opaque (`null`).
 */
export function extensionFrame(input: {
  runnerPublicBase: string;
  hostOrigin: string;
  extensionId: string;
  contentHash: string;
  entry: string;
}): ExtensionFrame {
  const runnerBase = new URL(input.runnerPublicBase);
  const runnerOrigin = parseOrigin(runnerBase.origin);
  const hostOrigin = parseOrigin(input.hostOrigin);
  if (!runnerOrigin) throw new Error(`RUNNER_PUBLIC_BASE ${input.runnerPublicBase} is not an http(s) URL.`);
  if (!hostOrigin) throw new Error(`${input.hostOrigin} is not an http(s) origin.`);
  const entry = entrySegments(input.entry);
  const basePath = runnerBase.pathname.replace(/\/+$/, '');
  const path = [basePath, 'ext-ui', encodeURIComponent(input.extensionId), encodeURIComponent(input.contentHash), ...entry].join('/');
  const src = new URL(path, runnerOrigin);
  src.searchParams.set(PARENT_ORIGIN_PARAM, hostOrigin);
  const crossOrigin = runnerOrigin !== hostOrigin;
  return {
    src: src.href,
    sandbox: crossOrigin ? 'allow-scripts allow-forms allow-same-origin' : 'allow-scripts allow-forms',
    origin: crossOrigin ? runnerOrigin : 'null',
  };
}

/** `ui.iframe.entry` as URL-encoded path segments; it must stay inside the bundle's ui/ folder. */
function entrySegments(entry: string): string[] {
  const segments = entry.split('/');
  if (entry.startsWith('/') || segments.some((segment) => segment === '' || segment === '.' || segment === '..' || segment.includes('\\'))) {
    throw new Error(`ui.iframe.entry "${entry}" is not a relative path inside ui/.`);
  }
  return segments.map(encodeURIComponent);
}
