import { originalPositionFor, TraceMap } from '@jridgewell/trace-mapping';

/** A frame position in the bundled guest code, as the SDK prints it: `extension.js:LINE:COLUMN` (1-based). */
const bundledFrame = /\bextension\.js:(\d+):(\d+)/g;
const maxRemembered = 1000;

/**
 * Maps stack frames in a guest's output from the bundled `extension.js` to the developer's
 * TypeScript (`src/index.ts:12:5`), with the source map the build put in the component. A map is
 * kept as text when a bundle loads and parsed only the first time a frame needs it, so the
 * request path never pays for it; text without a frame is returned as it is.
 */
export class StackMapper {
  private readonly maps = new Map<string, { text: string; parsed?: TraceMap | null }>();

  remember(contentHash: string, sourceMap: string | undefined): void {
    if (sourceMap === undefined || this.maps.has(contentHash)) return;
    this.replace(contentHash, sourceMap);
  }

  /** Sets the map of `contentHash` even when it has one (`alga-ext dev`: the code changes, the component does not). */
  replace(contentHash: string, sourceMap: string): void {
    this.maps.delete(contentHash);
    this.maps.set(contentHash, { text: sourceMap });
    if (this.maps.size > maxRemembered) this.maps.delete(this.maps.keys().next().value!);
  }

  mapFrames(contentHash: string, text: string): string {
    if (!text.includes('extension.js:')) return text;
    const map = this.traceMap(contentHash);
    if (!map) return text;
    return text.replace(bundledFrame, (frame, line: string, column: string) => {
      const original = originalPositionFor(map, { line: Number(line), column: Math.max(0, Number(column) - 1) });
      return original.source && original.line !== null ? `${original.source}:${original.line}:${(original.column ?? 0) + 1}` : frame;
    });
  }

  private traceMap(contentHash: string): TraceMap | undefined {
    const entry = this.maps.get(contentHash);
    if (!entry) return undefined;
    if (entry.parsed === undefined) {
      try {
        entry.parsed = new TraceMap(entry.text);
      } catch {
        entry.parsed = null; // a map that does not parse leaves frames as they are
      }
      entry.text = '';
    }
    return entry.parsed ?? undefined;
  }
}
