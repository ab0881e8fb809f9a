import { randomFillSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { restoreSnapshot, takeSnapshot } from '../../runner/pool/memory-snapshot.ts';

const page = 65536;

/** A memory of 40 pages with data in some chunks and zeros elsewhere, and two mutable globals. */
function instanceState() {
  const memory = new WebAssembly.Memory({ initial: 40, maximum: 64 });
  const bytes = new Uint8Array(memory.buffer);
  for (const chunk of [0, 1, 2, 7, 20, 39]) randomFillSync(bytes, chunk * page, page);
  bytes[13 * page + 5] = 9; // one byte of data alone in a chunk
  const globals = [new WebAssembly.Global({ value: 'i32', mutable: true }, 7), new WebAssembly.Global({ value: 'i64', mutable: true }, 11n)];
  return { memory, globals };
}

describe('guest memory snapshots', () => {
  it('puts back every byte a guest changed — in chunks with data, in chunks that were zero, and in memory grown since — and the globals', () => {
    const { memory, globals } = instanceState();
    const snapshot = takeSnapshot(memory, globals);
    const original = new Uint8Array(memory.buffer).slice();
    const bytes = () => new Uint8Array(memory.buffer);
    randomFillSync(bytes(), 1 * page + 100, 5000); // inside data
    bytes()[30 * page + page - 1] = 1; // the last byte of a zero chunk
    bytes()[13 * page + 5] = 0; // data cleared
    randomFillSync(bytes(), 10 * page, 3 * page); // across zero and data chunks
    memory.grow(4);
    bytes()[42 * page] = 255; // grown memory
    globals[0].value = 99;
    globals[1].value = -1n;
    restoreSnapshot(snapshot, memory, globals);
    expect(Buffer.from(bytes().subarray(0, original.length)).equals(Buffer.from(original))).toBe(true);
    expect(bytes().subarray(original.length).every((byte) => byte === 0)).toBe(true);
    expect(globals.map((global) => global.value)).toEqual([7, 11n]);
  });

  it('resets another instance that started in the same state to that state', () => {
    const first = instanceState();
    const snapshot = takeSnapshot(first.memory, first.globals);
    const other = { memory: new WebAssembly.Memory({ initial: 40, maximum: 64 }), globals: [new WebAssembly.Global({ value: 'i32', mutable: true }, 0), new WebAssembly.Global({ value: 'i64', mutable: true }, 0n)] };
    randomFillSync(new Uint8Array(other.memory.buffer)); // everything different
    restoreSnapshot(snapshot, other.memory, other.globals);
    expect(Buffer.from(other.memory.buffer).equals(Buffer.from(first.memory.buffer))).toBe(true);
    expect(other.globals.map((global) => global.value)).toEqual([7, 11n]);
  });
});
