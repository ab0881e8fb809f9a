/**
 * The Redis stream of one tenant's debug events for one extension: `{prefix}:{tenant}:{extension}`
 * with each id percent-encoded (ids may contain `:`), so two different pairs never share a stream.
 * The runner writes these streams and the host's debug SSE reads them: both use this function.
 */
export function debugStreamKey(prefix: string, tenant: string, extension: string): string {
  return `${prefix}:${encodeURIComponent(tenant)}:${encodeURIComponent(extension)}`;
}
