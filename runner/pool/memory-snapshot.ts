/** The state of a guest instance that the runner can put back: its linear memory and mutable globals. */
export interface Snapshot {
  memory: Uint8Array;
  globalValues: unknown[];
  /** The memory cut into runs of whole chunks that are all zero, or not. */
  runs: Array<{ start: number; end: number; zero: boolean }>;
}

const chunkBytes = 65536;
const zeroChunk = Buffer.alloc(chunkBytes);

export function takeSnapshot(memory: WebAssembly.Memory, globals: WebAssembly.Global[]): Snapshot {
  const saved = new Uint8Array(memory.buffer).slice();
  const bytes = Buffer.from(saved.buffer, saved.byteOffset, saved.length);
  const runs: Snapshot['runs'] = [];
  for (let start = 0; start < saved.length; start += chunkBytes) {
    const end = Math.min(start + chunkBytes, saved.length);
    const zero = bytes.subarray(start, end).equals(zeroChunk.subarray(0, end - start));
    const last = runs.at(-1);
    if (last && !zero && !last.zero) last.end = end;
    else runs.push({ start, end, zero });
  }
  return { memory: saved, globalValues: globals.map((global) => global.value), runs };
}

/**
 * Puts a snapshot back into `memory` and `globals` (of the same instance, or of another that
 * started in the same state). Runs holding data are copied; chunks that are zero in the snapshot
 * (most of a fresh heap) are only read, and cleared where they are not zero any more: about half
 * the memory traffic of copying everything. Memory grown since the snapshot is cleared.
 */
export function restoreSnapshot(snapshot: Snapshot, memory: WebAssembly.Memory, globals: WebAssembly.Global[]): void {
  const target = new Uint8Array(memory.buffer);
  const current = Buffer.from(target.buffer, target.byteOffset, target.length);
  for (const { start, end, zero } of snapshot.runs) {
    if (!zero) target.set(snapshot.memory.subarray(start, end), start);
    else if (!current.subarray(start, end).equals(zeroChunk.subarray(0, end - start))) target.fill(0, start, end);
  }
  if (target.length > snapshot.memory.length) target.fill(0, snapshot.memory.length);
  globals.forEach((global, index) => (global.value = snapshot.globalValues[index]));
}
