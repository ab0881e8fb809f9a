/**
 * Hand-made tar headers for hostile archives (independent of lib/bundle's writer, which
 * refuses to produce them): any name, type, size and link target.
 */
export interface RawEntry {
  name: string;
  bytes?: Uint8Array;
  /** Tar type flag: '0' file, '1' hard link, '2' symlink, '5' directory. */
  type?: string;
  linkName?: string;
  /** Size to claim in the header (default: bytes.length). */
  claimedSize?: number;
}

export function rawTar(entries: RawEntry[], trailer = new Uint8Array(1024)): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const bytes = entry.bytes ?? new Uint8Array(0);
    const header = new Uint8Array(512);
    const put = (text: string, offset: number) => header.set(new TextEncoder().encode(text), offset);
    put(entry.name, 0);
    put('0000644\0', 100);
    put('0000000\0', 108);
    put('0000000\0', 116);
    put(`${(entry.claimedSize ?? bytes.length).toString(8).padStart(11, '0')}\0`, 124);
    put('00000000000\0', 136);
    put(entry.type ?? '0', 156);
    if (entry.linkName) put(entry.linkName, 157);
    put('ustar\0' + '00', 257);
    header.fill(0x20, 148, 156);
    const sum = header.reduce((total, byte) => total + byte, 0);
    put(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, bytes, new Uint8Array((512 - (bytes.length % 512)) % 512));
  }
  parts.push(trailer);
  const out = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
