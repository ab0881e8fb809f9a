import { compilePathPattern, type PathPattern } from '../../../../sdk/runtime/path-pattern.ts';
import type { Manifest } from '../../../../lib/bundle/index.ts';

interface Declared {
  endpoints: { method: string; pattern: PathPattern }[];
  redirectOrigins: string[];
}

/**
 * What a version's manifest declares for the gateway — its endpoints, compiled with THE path
 * matcher, and the origins its redirects may point at — kept per content hash (a version's
 * manifest never changes), so no call reads the registry for it again.
 */
export class EndpointTable {
  private readonly byHash = new Map<string, Declared>();

  has(contentHash: string): boolean {
    return this.byHash.has(contentHash);
  }

  /** Takes in the manifest of `contentHash` (a missing manifest declares nothing). */
  compile(contentHash: string, manifest: Manifest | undefined): void {
    this.byHash.set(contentHash, {
      endpoints: (manifest?.api?.endpoints ?? []).map(({ method, path }) => ({ method, pattern: compilePathPattern(path) })),
      redirectOrigins: [...(manifest?.api?.redirectOrigins ?? [])],
    });
  }

  /** True when `method path` is declared by the manifest of `contentHash` (false until `compile`d). */
  allows(contentHash: string, method: string, path: string): boolean {
    for (const endpoint of this.byHash.get(contentHash)?.endpoints ?? []) if (endpoint.method === method && endpoint.pattern.match(path) !== null) return true;
    return false;
  }

  /** The manifest's `api.redirectOrigins`. */
  redirectOrigins(contentHash: string): string[] {
    return this.byHash.get(contentHash)?.redirectOrigins ?? [];
  }

  /** The methods the manifest of `contentHash` declares for `path` (empty when it declares the path under none), sorted. */
  methodsFor(contentHash: string, path: string): string[] {
    const endpoints = this.byHash.get(contentHash)?.endpoints ?? [];
    const methods = new Set(endpoints.filter((endpoint) => endpoint.pattern.match(path) !== null).map((endpoint) => endpoint.method));
    return [...methods].sort();
  }
}
