import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Where each extension UI lives in the browser: an origin of its own per install (tenant +
 * extension + install id), named by a template such as `https://{ext}.ext.example.com` whose
 * `{ext}` is the install's label. The host builds iframe URLs with it; the runner serves an
 * install's UI only at its own origin. The model and its reasons: docs/ui.md, "Origins".
 */
export const uiOriginPlaceholder = '{ext}';

export interface UiOriginTemplate {
  /** The template as configured. */
  readonly text: string;
  /** `https://{label}.ext.example.com[:port]` */
  origin(label: string): string;
  /** The origin plus the template's path, without a trailing slash: where `/ext-ui/…` is appended. */
  base(label: string): string;
  /** The host name browsers send in `Host` for this label (no port). */
  hostname(label: string): string;
}

const probe = 'x0';

/**
 * A template `http(s)://{ext}.<name>[:port][/path]`: `{ext}` is the whole first label and the
 * rest a DNS name (an IP address has no subdomains, so it cannot give each UI a host name of its
 * own). Returns a sentence saying what is wrong otherwise.
 */
export function parseUiOriginTemplate(text: string): UiOriginTemplate | string {
  const prefixLength = text.indexOf(`://${uiOriginPlaceholder}.`);
  if (prefixLength < 0 || text.indexOf(uiOriginPlaceholder) !== prefixLength + 3 || text.split(uiOriginPlaceholder).length !== 2) {
    return `"${text}" must look like https://${uiOriginPlaceholder}.ext.example.com: "${uiOriginPlaceholder}" once, as the whole first label of the host name.`;
  }
  let url: URL;
  try {
    url = new URL(text.replace(uiOriginPlaceholder, probe));
  } catch {
    return `"${text}" is not a URL.`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `"${text}" must be an http or https URL.`;
  if (url.username || url.password || url.search || url.hash) return `"${text}" must not carry credentials, a query or a fragment.`;
  if (!url.hostname.startsWith(`${probe}.`)) return `"${text}": "${uiOriginPlaceholder}" must be the first label of the host name.`;
  const parent = url.hostname.slice(probe.length + 1);
  if (isIP(parent.replace(/^\[|\]$/g, '')) || /^[\d.]+$/.test(parent)) return `"${text}" needs a host name, not an IP address, after "${uiOriginPlaceholder}.".`;
  const path = url.pathname.replace(/\/+$/, '');
  const origin = (label: string) => `${url.protocol}//${label}.${parent}${url.port ? `:${url.port}` : ''}`;
  return {
    text,
    origin,
    base: (label) => `${origin(label)}${path}`,
    hostname: (label) => `${label}.${parent}`,
  };
}

function isLoopbackName(hostname: string): boolean {
  const name = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || name === '::1' || (isIP(name) === 4 && name.startsWith('127.'));
}

/**
 * The template when none is configured, from where browsers reach the runner: on loopback,
 * `{scheme}://{ext}.localhost:{port}{path}` (browsers resolve every `*.localhost` name to
 * loopback themselves). Anywhere else there is no safe guess: undefined, and UIs need
 * RUNNER_UI_ORIGIN (a wildcard DNS name and certificate of the operator's).
 */
export function defaultUiOriginTemplate(publicBase: string | undefined): string | undefined {
  if (!publicBase || !URL.canParse(publicBase)) return undefined;
  const url = new URL(publicBase);
  if (!isLoopbackName(url.hostname)) return undefined;
  return `${url.protocol}//${uiOriginPlaceholder}.localhost${url.port ? `:${url.port}` : ''}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The label of one install's UI origin: 32 hex characters of SHA-256 over tenant, extension and
 * install id. A new install (after an uninstall) gets a new origin, so it never inherits the old
 * one's browser storage; an upgrade keeps it.
 */
export function uiOriginLabel(install: { tenantId: string; extensionId: string; installId: string }): string {
  return createHash('sha256').update(`alga ext-ui origin v1\0${install.tenantId}\0${install.extensionId}\0${install.installId}`).digest('hex').slice(0, 32);
}
