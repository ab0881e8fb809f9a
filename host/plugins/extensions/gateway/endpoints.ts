import { compilePathPattern, type PathPattern } from '../../../../sdk/runtime/path-pattern.ts';
import type { Manifest } from '../../../../lib/bundle/index.ts';

/** A manifest's declared endpoints, compiled once per content hash with THE path matcher. */
export class EndpointTable {
  private readonly byHash = new Map<string, { method: string; pattern: PathPattern }[]>();

  /** Compiles the endpoints of `contentHash` from its manifest (none without one); returns the table. */
  compile(contentHash: string, manifest: Manifest | undefined): this {
    this.byHash.set(contentHash, (manifest?.api?.endpoints ?? []).map(({ method, path }) => ({ method, pattern: compilePathPattern(path) })));
    return this;
  }

  /** True when `method path` is declared by the manifest of `contentHash`; undefined until `compile`d. */
  allows(contentHash: string, method: string, path: string): boolean | undefined {
    const table = this.byHash.get(contentHash);
    if (!table) return undefined;
    for (const endpoint of table) if (endpoint.method === method && endpoint.pattern.match(path) !== null) return true;
    return false;
  }
}
