/**
 * The sections of a WebAssembly component or core module, nested modules and components walked
 * too, so two builds can be compared section by section (`scripts/build-diff.ts`,
 * `alga-ext verify-build`).
 */

export interface WasmSection {
  /** Where it sits, e.g. `component/core-module#0/data`. */
  path: string;
  /** Byte range of the section body in the outermost file. */
  start: number;
  end: number;
}

const componentSectionNames: Record<number, string> = {
  0: 'custom', 1: 'core-module', 2: 'core-instance', 3: 'core-type', 4: 'component', 5: 'instance',
  6: 'alias', 7: 'type', 8: 'canon', 9: 'start', 10: 'import', 11: 'export', 12: 'value',
};
const coreSectionNames: Record<number, string> = {
  0: 'custom', 1: 'type', 2: 'import', 3: 'function', 4: 'table', 5: 'memory', 6: 'global', 7: 'export',
  8: 'start', 9: 'element', 10: 'code', 11: 'data', 12: 'data-count', 13: 'tag',
};

/** Every section, depth first; throws on bytes that are not WebAssembly. */
export function wasmSections(bytes: Uint8Array): WasmSection[] {
  const sections: WasmSection[] = [];
  walk(bytes, 0, bytes.length, '', sections);
  return sections;
}

function walk(bytes: Uint8Array, start: number, end: number, prefix: string, out: WasmSection[]): void {
  if (bytes[start] !== 0 || bytes[start + 1] !== 0x61 || bytes[start + 2] !== 0x73 || bytes[start + 3] !== 0x6d) {
    throw new Error(`no WebAssembly preamble at byte ${start}`);
  }
  const isComponent = bytes[start + 6] === 1;
  const names = isComponent ? componentSectionNames : coreSectionNames;
  const self = `${prefix}${isComponent ? 'component' : 'module'}`;
  const counts = new Map<string, number>();
  let offset = start + 8;
  while (offset < end) {
    const id = bytes[offset++];
    const [size, next] = readU32(bytes, offset);
    offset = next;
    const bodyEnd = offset + size;
    if (bodyEnd > end) throw new Error(`section at byte ${offset} runs past the end`);
    let name = names[id] ?? `section-${id}`;
    if (id === 0) name = `custom:${customName(bytes, offset)}`;
    const index = counts.get(name) ?? 0;
    counts.set(name, index + 1);
    const path = `${self}/${name}#${index}`;
    out.push({ path, start: offset, end: bodyEnd });
    if (isComponent && (id === 1 || id === 4)) walk(bytes, offset, bodyEnd, `${path}/`, out);
    offset = bodyEnd;
  }
}

function customName(bytes: Uint8Array, offset: number): string {
  const [length, next] = readU32(bytes, offset);
  return new TextDecoder().decode(bytes.subarray(next, next + length));
}

function readU32(bytes: Uint8Array, offset: number): [number, number] {
  let result = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    const byte = bytes[offset++];
    if (byte === undefined) throw new Error('truncated LEB128');
    result += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [result, offset];
  }
  throw new Error('LEB128 too long');
}

export interface SectionDifference {
  path: string;
  sizes: [number, number];
  /** Bytes that differ at the same offset within the section (plus the size difference). */
  differingBytes: number;
  /** Offset within the section of the first difference. */
  firstDifference: number;
}

export interface ComponentDiff {
  identical: boolean;
  differences: SectionDifference[];
  text: string;
}

/** Leaf sections (not the containers) that differ between two builds, with a readable report. */
export function diffComponents(a: Uint8Array, b: Uint8Array): ComponentDiff {
  if (a.length === b.length && Buffer.from(a).equals(Buffer.from(b))) return { identical: true, differences: [], text: `identical (${a.length} bytes)` };
  const left = leaves(wasmSections(a));
  const right = new Map(leaves(wasmSections(b)).map((section) => [section.path, section]));
  const differences: SectionDifference[] = [];
  const lines = [`different: ${a.length} and ${b.length} bytes`];
  for (const section of left) {
    const other = right.get(section.path);
    right.delete(section.path);
    if (!other) {
      lines.push(`  ${section.path}: only in the first`);
      continue;
    }
    const x = a.subarray(section.start, section.end);
    const y = b.subarray(other.start, other.end);
    let differing = Math.abs(x.length - y.length);
    let first = -1;
    for (let index = 0; index < Math.min(x.length, y.length); index++) {
      if (x[index] !== y[index]) {
        differing++;
        if (first < 0) first = index;
      }
    }
    if (differing === 0) continue;
    if (first < 0) first = Math.min(x.length, y.length);
    differences.push({ path: section.path, sizes: [x.length, y.length], differingBytes: differing, firstDifference: first });
    lines.push(`  ${section.path}: ${x.length} / ${y.length} bytes, ${differing} differ, first at +${first}`);
    lines.push(`    first:  ${excerpt(x, first)}`);
    lines.push(`    second: ${excerpt(y, first)}`);
  }
  for (const path of right.keys()) lines.push(`  ${path}: only in the second`);
  return { identical: false, differences, text: lines.join('\n') };
}

function leaves(sections: WasmSection[]): WasmSection[] {
  return sections.filter((section) => !sections.some((inner) => inner !== section && inner.path.startsWith(`${section.path}/`)));
}

/** Hex and printable text around an offset. */
function excerpt(bytes: Uint8Array, at: number): string {
  const slice = bytes.subarray(Math.max(0, at - 16), at + 48);
  const text = Array.from(slice, (byte) => (byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.')).join('');
  return `${Buffer.from(slice.subarray(0, 24)).toString('hex')} |${text}|`;
}
