import { createHash } from 'node:crypto';

/** A bundle's identity: `sha256:<64 hex>` of its bytes. */
export type ContentHash = `sha256:${string}`;

const contentHashPattern = /^sha256:[0-9a-f]{64}$/;

export function contentHashOf(bytes: Uint8Array): ContentHash {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isContentHash(value: unknown): value is ContentHash {
  return typeof value === 'string' && contentHashPattern.test(value);
}

/** The 64 hex digits of a content hash. */
export function hexOfContentHash(hash: ContentHash): string {
  return hash.slice('sha256:'.length);
}
