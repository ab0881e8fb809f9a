import { AlgaError } from '../../lib/errors/index.ts';

/**
 * V8 lets a wasm memory grow until the process runs out; a maximum declared in the module
 * makes `memory.grow` fail instead, so a runaway guest traps inside its own limit.
 * This rewrites the limits of every memory the core module defines (section 5).
 */

const pageBytes = 65536;
const memorySection = 5;

export interface MemoryCapResult {
  bytes: Uint8Array;
  /** Initial pages of the module's memories (the least a cap can be). */
  initialPages: number;
}

export function capModuleMemory(module: Uint8Array, maxBytes: number): MemoryCapResult {
  const maxPages = Math.floor(maxBytes / pageBytes);
  const out: number[] = [];
  const chunks: Uint8Array[] = [module.subarray(0, 8)];
  let initialPages = 0;
  let offset = 8;
  while (offset < module.length) {
    const sectionStart = offset;
    const id = module[offset++];
    const [size, sizeEnd] = readU32(module, offset);
    const bodyStart = sizeEnd;
    const bodyEnd = bodyStart + size;
    if (id !== memorySection) {
      chunks.push(module.subarray(sectionStart, bodyEnd));
      offset = bodyEnd;
      continue;
    }
    let cursor = bodyStart;
    const [count, countEnd] = readU32(module, cursor);
    cursor = countEnd;
    out.length = 0;
    writeU32(out, count);
    for (let index = 0; index < count; index++) {
      const flags = module[cursor++];
      if (flags !== 0x00 && flags !== 0x01) throw new AlgaError('E_RUNNER_UNSUPPORTED_IMPORT', `A core memory uses limits flags 0x${flags.toString(16)} (shared or 64-bit), which the runner does not run.`);
      const [min, minEnd] = readU32(module, cursor);
      cursor = minEnd;
      let declaredMax = Number.POSITIVE_INFINITY;
      if (flags === 0x01) {
        const [max, maxEnd] = readU32(module, cursor);
        declaredMax = max;
        cursor = maxEnd;
      }
      if (min > maxPages) {
        throw new AlgaError('E_RUNNER_MEMORY_LIMIT_TOO_SMALL', `It starts with ${Math.ceil((min * pageBytes) / 1048576)} MB; the limit is ${Math.floor(maxBytes / 1048576)} MB.`);
      }
      initialPages = Math.max(initialPages, min);
      out.push(0x01);
      writeU32(out, min);
      writeU32(out, Math.min(maxPages, declaredMax));
    }
    const body = Uint8Array.from(out);
    const header: number[] = [memorySection];
    writeU32(header, body.length);
    chunks.push(Uint8Array.from(header), body);
    offset = bodyEnd;
  }
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const bytes = new Uint8Array(total);
  let position = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, position);
    position += chunk.length;
  }
  return { bytes, initialPages };
}

export function readU32(bytes: Uint8Array, offset: number): [number, number] {
  let result = 0;
  let shift = 0;
  for (;;) {
    const byte = bytes[offset++];
    if (byte === undefined) throw new AlgaError('E_RUNNER_TRANSPILE_FAILED', 'A core module ends in the middle of a section.');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, offset];
    shift += 7;
  }
}

export function writeU32(out: number[], value: number): void {
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
}
