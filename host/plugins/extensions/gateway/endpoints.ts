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
}
