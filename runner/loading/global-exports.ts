import { readU32, writeU32 } from './memory-cap.ts';

/**
 * The `request` policy restores a guest's linear memory after each request; state a module keeps
 * in mutable globals (a stack pointer, a bump allocator, a counter) must be restored with it.
 * This adds an export `alga:global:{index}` for every mutable global the core module defines,
 * so the worker can snapshot and restore them. Globals of a type JS cannot read (v128, typed
 * references) are left alone; a module whose sections cannot be read is returned unchanged.
 */

export const globalExportPrefix = 'alga:global:';

const sectionImport = 2;
const sectionGlobal = 6;
const sectionExport = 7;
/** Binary order of the known sections (custom sections, id 0, may sit anywhere). */
const sectionOrder = [1, 2, 3, 4, 5, 13, 6, 7, 8, 9, 12, 10, 11];
/** i32, i64, f32, f64, funcref, externref: what a JS WebAssembly.Global can read and write. */
const restorableTypes = new Set([0x7f, 0x7e, 0x7d, 0x7c, 0x70, 0x6f]);

class Unreadable extends Error {}

export function exportMutableGlobals(module: Uint8Array): { bytes: Uint8Array; exported: number } {
  try {
    return rewrite(module);
  } catch (error) {
    if (error instanceof Unreadable) return { bytes: module, exported: 0 };
    throw error;
  }
}

function rewrite(module: Uint8Array): { bytes: Uint8Array; exported: number } {
  const sections: { id: number; start: number; bodyStart: number; end: number }[] = [];
  for (let offset = 8; offset < module.length; ) {
    const id = module[offset];
    const [size, bodyStart] = readU32(module, offset + 1);
    sections.push({ id, start: offset, bodyStart, end: bodyStart + size });
    offset = bodyStart + size;
  }
  const importSection = sections.find((section) => section.id === sectionImport);
  const globalSection = sections.find((section) => section.id === sectionGlobal);
  if (!globalSection) return { bytes: module, exported: 0 };
  const importedGlobals = importSection ? countImportedGlobals(module, importSection.bodyStart) : 0;
  const mutable = mutableGlobals(module, globalSection.bodyStart).map((index) => index + importedGlobals);
  if (mutable.length === 0) return { bytes: module, exported: 0 };

  const entries: number[] = [];
  for (const index of mutable) {
    const name = Buffer.from(`${globalExportPrefix}${index}`);
    writeU32(entries, name.length);
    entries.push(...name, 0x03);
    writeU32(entries, index);
  }
  const existing = sections.find((section) => section.id === sectionExport);
  let count = mutable.length;
  let oldEntries: Uint8Array = new Uint8Array();
  if (existing) {
    const [oldCount, entriesStart] = readU32(module, existing.bodyStart);
    count += oldCount;
    oldEntries = module.subarray(entriesStart, existing.end);
  }
  const body: number[] = [];
  writeU32(body, count);
  const header: number[] = [sectionExport];
  writeU32(header, body.length + oldEntries.length + entries.length);
  const exportSection = Buffer.concat([Uint8Array.from(header), Uint8Array.from(body), oldEntries, Uint8Array.from(entries)]);

  const rank = (id: number) => sectionOrder.indexOf(id);
  const chunks: Uint8Array[] = [module.subarray(0, 8)];
  let placed = false;
  for (const section of sections) {
    if (section === existing) {
      chunks.push(exportSection);
      placed = true;
      continue;
    }
    if (!placed && !existing && section.id !== 0 && rank(section.id) > rank(sectionExport)) {
      chunks.push(exportSection);
      placed = true;
    }
    chunks.push(module.subarray(section.start, section.end));
  }
  if (!placed) chunks.push(exportSection);
  return { bytes: new Uint8Array(Buffer.concat(chunks)), exported: mutable.length };
}

function skipU32(bytes: Uint8Array, offset: number): number {
  return readU32(bytes, offset)[1];
}

/** A value type: one byte, or a typed reference (0x63/0x64) followed by its heap type. */
function readValueType(bytes: Uint8Array, offset: number): [number, number] {
  const type = bytes[offset];
  if (type === 0x63 || type === 0x64) return [type, skipU32(bytes, offset + 1)];
  return [type, offset + 1];
}

function skipLimits(bytes: Uint8Array, offset: number): number {
  const flags = bytes[offset];
  if (flags > 0x07) throw new Unreadable();
  offset = skipU32(bytes, offset + 1);
  return flags & 0x01 ? skipU32(bytes, offset) : offset;
}

function countImportedGlobals(bytes: Uint8Array, offset: number): number {
  let [count, cursor] = readU32(bytes, offset);
  let globals = 0;
  for (; count > 0; count--) {
    for (let name = 0; name < 2; name++) {
      const [length, start] = readU32(bytes, cursor);
      cursor = start + length;
    }
    const kind = bytes[cursor++];
    if (kind === 0x00) cursor = skipU32(bytes, cursor);
    else if (kind === 0x01) cursor = skipLimits(bytes, readValueType(bytes, cursor)[1]);
    else if (kind === 0x02) cursor = skipLimits(bytes, cursor);
    else if (kind === 0x03) {
      cursor = readValueType(bytes, cursor)[1] + 1;
      globals++;
    } else if (kind === 0x04) cursor = skipU32(bytes, cursor + 1);
    else throw new Unreadable();
  }
  return globals;
}

/** Indices (among the module's own globals) of the mutable globals JS can restore. */
function mutableGlobals(bytes: Uint8Array, offset: number): number[] {
  let [count, cursor] = readU32(bytes, offset);
  const mutable: number[] = [];
  for (let index = 0; index < count; index++) {
    const [type, afterType] = readValueType(bytes, cursor);
    const isMutable = bytes[afterType] === 0x01;
    cursor = skipConstantExpression(bytes, afterType + 1);
    if (isMutable && restorableTypes.has(type)) mutable.push(index);
  }
  return mutable;
}

/** Skips an initializer (a constant expression ending in `end`). */
function skipConstantExpression(bytes: Uint8Array, offset: number): number {
  for (;;) {
    const opcode = bytes[offset++];
    if (opcode === undefined) throw new Unreadable();
    if (opcode === 0x0b) return offset;
    if (opcode === 0x41 || opcode === 0x42 || opcode === 0x23 || opcode === 0xd2 || opcode === 0xd0) offset = skipU32(bytes, offset);
    else if (opcode === 0x43) offset += 4;
    else if (opcode === 0x44) offset += 8;
    else if (opcode === 0xfd && bytes[offset] === 0x0c) offset += 17;
    else if (![0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e].includes(opcode)) throw new Unreadable();
  }
}
