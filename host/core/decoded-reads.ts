import type { Database, Key } from 'lmdb';

/** What lmdb-js offers beyond its typings: the raw bytes of a value, and the decoder `get` uses on them. */
interface RawDatabase<V, K extends Key> {
  getBinaryFast(key: K): Uint8Array | undefined;
  lastSize: number;
  decoder?: { decode(bytes: Uint8Array): V };
}

/**
 * Reads of one store database that decode a value only when its stored bytes changed. Every read
 * still looks the key up, so a write by any process (another host command, an operator tool) is
 * seen by the very next read; when the bytes equal those of the value decoded last time, that
 * same value comes back, frozen, instead of a new decode (msgpack decoding is most of a read's
 * cost). At most `maxEntries` values are held, the oldest going first.
 */
export class DecodedReads<V, K extends Key> {
  private readonly held = new Map<string, { bytes: Buffer; value: V }>();

  constructor(
    private readonly db: Database<V, K>,
    private readonly maxEntries = 10_000,
  ) {}

  /** The value at `key` (`id` names it in the cache), frozen; undefined when there is none. */
  get(key: K, id: string): V | undefined {
    const raw = this.db as unknown as RawDatabase<V, K>;
    const found = raw.getBinaryFast(key);
    if (found === undefined || !raw.decoder) {
      this.held.delete(id);
      return found === undefined ? undefined : this.db.get(key);
    }
    // lmdb-js hands back a shared buffer sized beyond the value: only its first lastSize bytes count.
    const bytes = Buffer.from(found.buffer, found.byteOffset, raw.lastSize);
    const held = this.held.get(id);
    if (held && held.bytes.equals(bytes)) return held.value;
    const copy = Buffer.from(bytes);
    const value = deepFreeze(raw.decoder.decode(copy));
    this.held.delete(id);
    if (this.held.size >= this.maxEntries) this.held.delete(this.held.keys().next().value!);
    this.held.set(id, { bytes: copy, value });
    return value;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const member of Object.values(value)) deepFreeze(member);
  }
  return value;
}
