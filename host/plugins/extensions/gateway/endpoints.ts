import { compilePathPattern, type PathPattern } from '../../../../sdk/runtime/path-pattern.ts';
import type { Manifest } from '../../../../lib/bundle/index.ts';
import { allowedMethods, methodToCall } from '../../../../lib/bundle/endpoint-methods.ts';

interface Declared {
  endpoints: { method: string; path: string; pattern: PathPattern }[];
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
      endpoints: (manifest?.api?.endpoints ?? []).map(({ method, path }) => ({ method, path, pattern: compilePathPattern(path) })),
      redirectOrigins: [...(manifest?.api?.redirectOrigins ?? [])],
    });
  }

  /**
   * The method the extension is called with for `method path`: the method itself when the manifest
   * of `contentHash` declares it there, GET for a HEAD on a GET path (endpoint-methods.ts);
   * undefined when neither (and until `compile`d).
   */
  methodToCall(contentHash: string, method: string, path: string): string | undefined {
    const endpoints = this.byHash.get(contentHash)?.endpoints ?? [];
    return methodToCall(method, (candidate) => endpoints.some((endpoint) => endpoint.method === candidate && endpoint.pattern.match(path) !== null));
  }

  /** The endpoints the manifest of `contentHash` declares, as `METHOD /path` (for the tenant that has it installed). */
  listed(contentHash: string): string[] {
    return (this.byHash.get(contentHash)?.endpoints ?? []).map((endpoint) => `${endpoint.method} ${endpoint.path}`);
  }

  /** The manifest's `api.redirectOrigins`. */
  redirectOrigins(contentHash: string): string[] {
    return this.byHash.get(contentHash)?.redirectOrigins ?? [];
  }

  /** What `Allow` lists for `path` (empty when the manifest of `contentHash` declares the path under no method). */
  methodsFor(contentHash: string, path: string): string[] {
    const endpoints = this.byHash.get(contentHash)?.endpoints ?? [];
    return allowedMethods(endpoints.filter((endpoint) => endpoint.pattern.match(path) !== null).map((endpoint) => endpoint.method));
  }
}
