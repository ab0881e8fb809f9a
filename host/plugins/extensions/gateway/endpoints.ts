import { compilePathPattern, type PathPattern } from '../../../../sdk/runtime/path-pattern.ts';
import type { Manifest } from '../../../../lib/bundle/index.ts';

/** A manifest's declared endpoints, compiled once per content hash with THE path matcher. */
export class EndpointTable {
  private readonly byHash = new Map<string, { method: string; pattern: PathPattern }[]>();

  private compiled(contentHash: string, manifest: () => Manifest | undefined) {
    let table = this.byHash.get(contentHash);
    if (!table) {
      table = (manifest()?.api?.endpoints ?? []).map(({ method, path }) => ({ method, pattern: compilePathPattern(path) }));
      this.byHash.set(contentHash, table);
    }
    return table;
  }

  /** True when `method path` is declared by the manifest of `contentHash`. */
  allows(contentHash: string, manifest: () => Manifest | undefined, method: string, path: string): boolean {
    return this.compiled(contentHash, manifest).some((endpoint) => endpoint.method === method && endpoint.pattern.match(path) !== null);
  }

  /** The methods the manifest declares for `path` (empty when it declares the path under none), sorted. */
  methodsFor(contentHash: string, manifest: () => Manifest | undefined, path: string): string[] {
    const methods = new Set(this.compiled(contentHash, manifest).filter((endpoint) => endpoint.pattern.match(path) !== null).map((endpoint) => endpoint.method));
    return [...methods].sort();
  }
}
