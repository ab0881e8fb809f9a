/**
 * `value` as a web origin (`https://host.example` or `http://127.0.0.1:8080`), or null when it
 * is anything else: no scheme other than http(s), no path, query, credentials or trailing slash.
 */
export function parseOrigin(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value === '' || value === 'null') return null;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  return url.origin === value ? value : null;
}
