/**
 * The gateway URL for an extension UI's `callApi(path)`: `{origin}/api/ext/{extensionId}{path}`,
 * or null when `path` would leave that prefix (`/../`, `%2e%2e`, `//host`, backslashes…).
 * The result always stays on the host page's own origin under the extension's own prefix.
 */
export function gatewayUrl(origin: string, extensionId: string, path: string): string | null {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) return null;
  if (/[\\\u0000-\u001f\u007f]/.test(path)) return null;
  const prefix = `/api/ext/${encodeURIComponent(extensionId)}`;
  let url: URL;
  try {
    url = new URL(prefix + path, origin);
  } catch {
    return null;
  }
  if (url.origin !== origin) return null;
  if (url.pathname !== prefix && !url.pathname.startsWith(`${prefix}/`)) return null;
  return url.href;
}
