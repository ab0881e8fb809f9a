/**
 * Which headers cross the gateway. Requests: content negotiation and conditionals only — never
 * `authorization`, `cookie` or anything the host uses to identify the caller. Responses: content
 * and caching headers only — never `set-cookie`. Headers named `x-ext-*` pass both ways.
 */
const requestAllowlist = new Set([
  'accept', 'accept-language', 'content-type', 'if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'user-agent', 'x-requested-with',
]);
const responseAllowlist = new Set([
  'content-type', 'content-language', 'content-disposition', 'cache-control', 'etag', 'last-modified', 'expires', 'location', 'vary',
]);
const extensionPrefix = 'x-ext-';

function pick(headers: Record<string, unknown>, allowlist: Set<string>): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const [rawName, value] of Object.entries(headers)) {
    const name = rawName.toLowerCase();
    if (!allowlist.has(name) && !name.startsWith(extensionPrefix)) continue;
    if (typeof value === 'string') picked[name] = value;
    else if (Array.isArray(value)) picked[name] = value.filter((item) => typeof item === 'string').join(', ');
  }
  return picked;
}

export const forwardedRequestHeaders = (headers: Record<string, unknown>) => pick(headers, requestAllowlist);
export const returnedResponseHeaders = (headers: Record<string, unknown>) => pick(headers, responseAllowlist);

/**
 * On every gateway answer (the extension's own and the gateway's errors): whatever the bytes are,
 * they never run as a document of the host's origin. `sandbox` without `allow-scripts` gives a
 * document opened from here an opaque origin and no script; `default-src 'none'` loads nothing;
 * `nosniff` stops browsers from guessing a more active type; CORP keeps other sites from
 * embedding the answer (`<script src>`, `<img>`); it is never framed.
 */
export const inertAnswerHeaders: Readonly<Record<string, string>> = {
  'content-security-policy': "sandbox; default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

/** RFC 9110 token (a header name). */
const headerName = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A header value Node writes as it is: tab, visible ASCII and Latin-1 obs-text; no CR, LF, NUL or anything above U+00FF. */
const headerValue = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Media types a browser shows without running anything: data, plain text, raster images, audio,
 * video and fonts. Any other type (HTML, XML, SVG, PDF, multipart…) is sent as an attachment.
 */
const inlineTypes = [
  /^application\/json$/, /^application\/[a-z0-9.+-]+\+json$/, /^application\/octet-stream$/,
  /^text\/plain$/, /^text\/csv$/, /^text\/markdown$/,
  /^image\/(png|jpeg|gif|webp|avif|bmp|x-icon|vnd\.microsoft\.icon)$/,
  /^audio\/[a-z0-9.+-]+$/, /^video\/[a-z0-9.+-]+$/, /^font\/[a-z0-9.+-]+$/,
];

export function isInlineSafeType(contentType: string | undefined): boolean {
  const essence = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return inlineTypes.some((pattern) => pattern.test(essence));
}

/** Why an extension's answer was not passed on. */
export type RefusedAnswer = { code: 'E_EXT_BAD_RESPONSE' | 'E_EXT_REDIRECT_REFUSED'; reason: string };

export interface AnswerContext {
  /** The origin the request came in on (and HOST_PUBLIC_BASE's, when set): where the extension's own API lives. */
  ownOrigins: readonly string[];
  /** The URL of the request, absolute, for resolving a relative Location. */
  requestUrl: string;
  extensionId: string;
  /** The manifest's `api.redirectOrigins`. */
  redirectOrigins: readonly string[];
}

/**
 * The headers the gateway sends for an extension's answer, or why it refuses the answer:
 * allowlisted names only, values HTTP can carry, `Location` on the extension's own API (or an
 * origin its manifest lists), `Content-Disposition: attachment` for active types, and caching
 * that no shared cache applies across callers.
 */
export function gatewayAnswerHeaders(guestHeaders: Record<string, unknown>, context: AnswerContext): { headers: Record<string, string> } | RefusedAnswer {
  const headers = returnedResponseHeaders(guestHeaders);
  for (const [name, value] of Object.entries(headers)) {
    if (!headerName.test(name)) return { code: 'E_EXT_BAD_RESPONSE', reason: `header name ${JSON.stringify(name.slice(0, 64))} is not an HTTP token` };
    if (!headerValue.test(value)) return { code: 'E_EXT_BAD_RESPONSE', reason: `header ${name} has a character HTTP cannot carry (a control character or one above U+00FF)` };
  }
  if (headers.location !== undefined) {
    const location = checkedLocation(headers.location, context);
    if (typeof location !== 'string') return location;
    headers.location = location;
  }
  if (!isInlineSafeType(headers['content-type'])) headers['content-disposition'] = asAttachment(headers['content-disposition']);
  if (headers['cache-control'] !== undefined) headers['cache-control'] = privateCaching(headers['cache-control']);
  return { headers };
}

/**
 * A Location resolved the way a browser resolves it: on the request's own origin it must stay
 * under `/api/ext/{extensionId}` and is sent as that path; elsewhere its origin must be one the
 * manifest lists in `api.redirectOrigins`. Anything else would make the host an open redirect.
 */
function checkedLocation(value: string, context: AnswerContext): string | RefusedAnswer {
  let target: URL;
  try {
    target = new URL(value, context.requestUrl);
  } catch {
    return { code: 'E_EXT_REDIRECT_REFUSED', reason: 'Location is not a URL' };
  }
  if (target.username || target.password) return { code: 'E_EXT_REDIRECT_REFUSED', reason: 'Location carries credentials' };
  if (context.ownOrigins.includes(target.origin)) {
    const prefix = `/api/ext/${encodeURIComponent(context.extensionId)}`;
    if (target.pathname === prefix || target.pathname.startsWith(`${prefix}/`)) return `${target.pathname}${target.search}${target.hash}`;
    return { code: 'E_EXT_REDIRECT_REFUSED', reason: `Location leaves ${prefix}` };
  }
  if (context.redirectOrigins.includes(target.origin)) return target.href;
  return { code: 'E_EXT_REDIRECT_REFUSED', reason: `Location goes to ${target.origin.slice(0, 200)}, not listed in api.redirectOrigins` };
}

/** `attachment`, keeping the parameters (the file name) of what the extension sent. */
function asAttachment(disposition: string | undefined): string {
  const parameters = (disposition ?? '').split(';').slice(1).map((part) => part.trim()).filter(Boolean);
  return ['attachment', ...parameters].join('; ');
}

/** Every gateway answer belongs to one tenant's caller: `public` and `s-maxage` are dropped, `private` added. */
function privateCaching(value: string): string {
  const directives = value.split(',').map((part) => part.trim()).filter((part) => part && !/^(public|s-maxage\s*=.*|proxy-revalidate)$/i.test(part));
  if (!directives.some((part) => /^(private|no-store)$/i.test(part))) directives.unshift('private');
  return directives.join(', ');
}
