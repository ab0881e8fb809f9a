import { AlgaError } from '../errors/index.ts';

/**
 * Reads the top-level import and export names of a WebAssembly component straight from its
 * binary (component-model sections 10 and 11). Nested modules and components are skipped by size.
 */

const componentPreamble = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
const importSection = 10;
const exportSection = 11;

export interface ComponentInterfaces {
  imports: string[];
  exports: string[];
}

export function componentImports(component: Uint8Array): string[] {
  return readComponentInterfaces(component).imports;
}

export function componentExports(component: Uint8Array): string[] {
  return readComponentInterfaces(component).exports;
}

export function readComponentInterfaces(component: Uint8Array): ComponentInterfaces {
  if (component.length < 8 || componentPreamble.some((byte, index) => component[index] !== byte)) {
    throw new AlgaError('E_COMPONENT_INVALID', 'It does not start with the WebAssembly component preamble.');
  }
  const imports: string[] = [];
  const exports: string[] = [];
  const reader = new BinaryReader(component, 8);
  while (!reader.atEnd()) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.offset + size;
    if (end > component.length) throw new AlgaError('E_COMPONENT_INVALID', `Section ${id} runs past the end of the file.`);
    if (id === importSection) readNames(new BinaryReader(component, reader.offset, end), imports, readImportTail);
    if (id === exportSection) readNames(new BinaryReader(component, reader.offset, end), exports, readExportTail);
    reader.offset = end;
  }
  return { imports, exports };
}

function readNames(reader: BinaryReader, into: string[], readTail: (reader: BinaryReader) => void): void {
  const count = reader.u32();
  for (let index = 0; index < count; index++) {
    const kind = reader.byte();
    if (kind !== 0x00 && kind !== 0x01) throw new AlgaError('E_COMPONENT_INVALID', `Unknown name encoding 0x${kind.toString(16)}.`);
    into.push(reader.string());
    readTail(reader);
  }
}

function readImportTail(reader: BinaryReader): void {
  readExternDesc(reader);
}

function readExportTail(reader: BinaryReader): void {
  const sort = reader.byte();
  if (sort === 0x00) reader.byte(); // core sort
  reader.u32(); // index
  if (reader.byte() === 0x01) readExternDesc(reader);
}

function readExternDesc(reader: BinaryReader): void {
  const kind = reader.byte();
  switch (kind) {
    case 0x00: // core module: 0x11 typeidx
      reader.byte();
      reader.u32();
      return;
    case 0x01: // func
    case 0x04: // component
    case 0x05: // instance
      reader.u32();
      return;
    case 0x02: // value bound: eq valueidx | valtype
      reader.byte();
      reader.s33();
      return;
    case 0x03: // type bound: eq typeidx | sub resource
      if (reader.byte() === 0x00) reader.u32();
      return;
    default:
      throw new AlgaError('E_COMPONENT_INVALID', `Unknown extern kind 0x${kind.toString(16)}.`);
  }
}

class BinaryReader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
    private readonly end = bytes.length,
  ) {}

  atEnd(): boolean {
    return this.offset >= this.end;
  }

  byte(): number {
    if (this.offset >= this.end) throw new AlgaError('E_COMPONENT_INVALID', 'It ends in the middle of a section.');
    return this.bytes[this.offset++];
  }

  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new AlgaError('E_COMPONENT_INVALID', 'A LEB128 number is too long.');
  }

  s33(): void {
    for (let count = 0; count < 5; count++) if ((this.byte() & 0x80) === 0) return;
    throw new AlgaError('E_COMPONENT_INVALID', 'A LEB128 number is too long.');
  }

  string(): string {
    const length = this.u32();
    if (this.offset + length > this.end) throw new AlgaError('E_COMPONENT_INVALID', 'A name runs past its section.');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(this.bytes.subarray(this.offset, this.offset + length));
    this.offset += length;
    return text;
  }
}
