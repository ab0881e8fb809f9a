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
