import { AlgaError } from '../errors/index.ts';

/**
 * A minimal deterministic ustar archive: regular files only, sorted by path, mode 0644,
 * uid/gid 0, mtime 0, empty owner names. The reader is strict and refuses anything else.
 */

export interface ArchiveEntry {
  path: string;
  bytes: Uint8Array;
}

export interface ArchiveLimits {
  /** Largest single entry, in bytes. */
  maxEntryBytes: number;
  /** Largest sum of all entry sizes, in bytes. */
  maxTotalBytes: number;
  maxEntries: number;
}

export const defaultArchiveLimits: ArchiveLimits = {
  maxEntryBytes: 64 * 1024 * 1024,
  maxTotalBytes: 128 * 1024 * 1024,
  maxEntries: 1000,
};

const block = 512;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Writes entries as a ustar archive; the same entries always give the same bytes. Refuses
 * what `readArchive` would refuse under the same limits, so no one packs an unloadable bundle.
 */
export function writeArchive(entries: readonly ArchiveEntry[], limits: ArchiveLimits = defaultArchiveLimits): Uint8Array {
  const sorted = [...entries].sort((a, b) => compareBytes(encoder.encode(a.path), encoder.encode(b.path)));
  const seen = new Set<string>();
  let totalBytes = 0;
  for (const entry of sorted) {
    checkEntryPath(entry.path);
    if (seen.has(entry.path)) throw new AlgaError('E_BUNDLE_DUPLICATE_ENTRY', `Path: ${entry.path}.`);
    seen.add(entry.path);
    if (entry.bytes.length > limits.maxEntryBytes) {
      throw new AlgaError('E_BUNDLE_ENTRY_TOO_LARGE', `${entry.path} is ${entry.bytes.length} bytes; the limit is ${limits.maxEntryBytes}.`);
    }
    totalBytes += entry.bytes.length;
  }
  if (sorted.length > limits.maxEntries) throw new AlgaError('E_BUNDLE_TOO_LARGE', `More than ${limits.maxEntries} entries.`);
  if (totalBytes > limits.maxTotalBytes) throw new AlgaError('E_BUNDLE_TOO_LARGE', `Entries exceed ${limits.maxTotalBytes} bytes in total.`);
  const total = sorted.reduce((sum, entry) => sum + block + paddedSize(entry.bytes.length), 2 * block);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const entry of sorted) {
    out.set(headerFor(entry.path, entry.bytes.length), offset);
    offset += block;
    out.set(entry.bytes, offset);
    offset += paddedSize(entry.bytes.length);
  }
  return out;
}

/** Reads a ustar archive written by `writeArchive` (or any tar holding only safe regular files). */
export function readArchive(bytes: Uint8Array, limits: ArchiveLimits = defaultArchiveLimits): ArchiveEntry[] {
  const entries: ArchiveEntry[] = [];
  const seen = new Set<string>();
  let total = 0;
  let offset = 0;
  while (true) {
    if (offset + block > bytes.length) throw new AlgaError('E_BUNDLE_CORRUPT', 'It ends without the end-of-archive marker.');
    const header = bytes.subarray(offset, offset + block);
    if (header.every((byte) => byte === 0)) break;
    const { path, size, type } = parseHeader(header);
    if (type === '1' || type === '2') throw new AlgaError('E_BUNDLE_LINK_ENTRY', `Path: ${path}.`);
    if (type !== '0' && type !== '\0') throw new AlgaError('E_BUNDLE_UNSUPPORTED_ENTRY', `Path: ${path}, type '${type}'.`);
    checkEntryPath(path);
    if (seen.has(path)) throw new AlgaError('E_BUNDLE_DUPLICATE_ENTRY', `Path: ${path}.`);
    seen.add(path);
    if (entries.length + 1 > limits.maxEntries) throw new AlgaError('E_BUNDLE_TOO_LARGE', `More than ${limits.maxEntries} entries.`);
    if (size > limits.maxEntryBytes) throw new AlgaError('E_BUNDLE_ENTRY_TOO_LARGE', `${path} is ${size} bytes; the limit is ${limits.maxEntryBytes}.`);
    total += size;
    if (total > limits.maxTotalBytes) throw new AlgaError('E_BUNDLE_TOO_LARGE', `Entries exceed ${limits.maxTotalBytes} bytes in total.`);
    const start = offset + block;
    if (start + size > bytes.length) throw new AlgaError('E_BUNDLE_CORRUPT', `${path} is cut short.`);
    entries.push({ path, bytes: bytes.subarray(start, start + size) });
    offset = start + paddedSize(size);
  }
  // Everything after the first zero block must be zero padding.
  for (let index = offset; index < bytes.length; index++) {
    if (bytes[index] !== 0) throw new AlgaError('E_BUNDLE_CORRUPT', 'Data follows the end-of-archive marker.');
  }
  return entries;
}

/**
 * A safe relative path: `/`-separated, no absolute or drive prefix, no `.`/`..`/empty
 * segments, no backslashes or control characters.
 */
export function checkEntryPath(path: string): void {
  const reason = unsafePathReason(path);
  if (reason) throw new AlgaError('E_BUNDLE_UNSAFE_PATH', `Path ${JSON.stringify(path)} ${reason}.`);
}

function unsafePathReason(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'is absolute';
  if (path.includes('\\')) return 'contains a backslash';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(path)) return 'contains a control character';
  const segments = path.split('/');
  if (segments.includes('..')) return 'contains ".."';
  if (segments.some((segment) => segment === '' || segment === '.')) return 'contains an empty or "." segment';
  return undefined;
}

function headerFor(path: string, size: number): Uint8Array {
  const header = new Uint8Array(block);
  const { name, prefix } = splitPath(path);
  header.set(name, 0);
  writeOctal(header, 100, 8, 0o644);
  writeOctal(header, 108, 8, 0);
  writeOctal(header, 116, 8, 0);
  writeOctal(header, 124, 12, size);
  writeOctal(header, 136, 12, 0);
  header[156] = 0x30; // '0': regular file
  header.set(encoder.encode('ustar\u000000'), 257);
  header.set(prefix, 345);
  header.fill(0x20, 148, 156);
  writeOctal(header, 148, 8, checksumOf(header));
  return header;
}

function parseHeader(header: Uint8Array): { path: string; size: number; type: string } {
  const stored = readOctal(header, 148, 8, 'checksum');
  const copy = new Uint8Array(header); // a copy: Buffer#slice would alias the caller's bytes
  copy.fill(0x20, 148, 156);
  if (checksumOf(copy) !== stored) throw new AlgaError('E_BUNDLE_CORRUPT', 'A header checksum does not match.');
  if (decodeField(header, 257, 6) !== 'ustar') throw new AlgaError('E_BUNDLE_CORRUPT', 'A header is not in ustar format.');
  const name = decodeField(header, 0, 100);
  const prefix = decodeField(header, 345, 155);
  const path = prefix ? `${prefix}/${name}` : name;
  const type = String.fromCharCode(header[156]);
  const size = readOctal(header, 124, 12, 'size');
  return { path, size, type };
}

function splitPath(path: string): { name: Uint8Array; prefix: Uint8Array } {
  const bytes = encoder.encode(path);
  if (bytes.length <= 100) return { name: bytes, prefix: new Uint8Array(0) };
  for (let index = bytes.length - 1; index > 0; index--) {
    if (bytes[index] !== 0x2f) continue;
    const prefix = bytes.subarray(0, index);
    const name = bytes.subarray(index + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return { name, prefix };
  }
  throw new AlgaError('E_BUNDLE_UNSAFE_PATH', `Path ${JSON.stringify(path)} is too long for the archive format.`);
}

function decodeField(header: Uint8Array, start: number, length: number): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  try {
    return decoder.decode(end === -1 ? field : field.subarray(0, end));
  } catch {
    throw new AlgaError('E_BUNDLE_CORRUPT', 'A header holds a path that is not UTF-8.');
  }
}

function readOctal(header: Uint8Array, start: number, length: number, field: string): number {
  const text = String.fromCharCode(...header.subarray(start, start + length)).replace(/[\0 ]+$/, '').replace(/^ +/, '');
  if (!/^[0-7]{1,11}$/.test(text)) throw new AlgaError('E_BUNDLE_CORRUPT', `A header has an invalid ${field} field.`);
  return parseInt(text, 8);
}

function writeOctal(header: Uint8Array, start: number, length: number, value: number): void {
  const text = value.toString(8).padStart(length - 1, '0');
  header.set(encoder.encode(text), start);
  header[start + length - 1] = 0;
}

function checksumOf(header: Uint8Array): number {
  let sum = 0;
  for (const byte of header) sum += byte;
  return sum;
}

function paddedSize(size: number): number {
  return Math.ceil(size / block) * block;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) if (a[index] !== b[index]) return a[index] - b[index];
  return a.length - b.length;
}
