/**
 * A component's source map, kept in a custom section of `component.wasm` (`alga:source-map`), so a
 * bundle stays manifest.json + component.wasm + ui/ and the map always travels with the code it
 * describes. Custom sections are ignored by validation and execution; the runner reads this one
 * when it loads a bundle and parses it only when a stack trace needs mapping.
 */

export const sourceMapSectionName = 'alga:source-map';

const encoder = new TextEncoder();
const customSection = 0;
const preambleBytes = 8;

function leb128(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value > 0) byte |= 0x80;
    bytes.push(byte);
  } while (value > 0);
  return bytes;
}

/** The component with `map` (source map JSON text) appended as the custom section. */
export function withSourceMap(component: Uint8Array, map: string): Uint8Array {
  const name = encoder.encode(sourceMapSectionName);
  const payload = encoder.encode(map);
  const body = [...leb128(name.length), ...name];
  const size = body.length + payload.length;
  const header = Uint8Array.from([customSection, ...leb128(size), ...body]);
  const result = new Uint8Array(component.length + header.length + payload.length);
  result.set(component, 0);
  result.set(header, component.length);
  result.set(payload, component.length + header.length);
  return result;
}

/**
 * The source map text of a component, or undefined when it has none. Walks the top-level sections
 * only (each is skipped by its size), so it costs microseconds even for a 12 MB component.
 */
export function readSourceMap(component: Uint8Array): string | undefined {
  let offset = preambleBytes;
  const readU32 = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (offset >= component.length) return -1;
      const byte = component[offset++];
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    return -1;
  };
  while (offset < component.length) {
    const id = component[offset++];
    const size = readU32();
    if (size < 0 || offset + size > component.length) return undefined;
    const end = offset + size;
    if (id === customSection) {
      const nameLength = readU32();
      if (nameLength >= 0 && offset + nameLength <= end) {
        const name = new TextDecoder().decode(component.subarray(offset, offset + nameLength));
        if (name === sourceMapSectionName) return new TextDecoder().decode(component.subarray(offset + nameLength, end));
      }
    }
    offset = end;
  }
  return undefined;
}
