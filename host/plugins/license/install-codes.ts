import { createHash, randomBytes } from 'node:crypto';

/**
 * Install codes: 160 random bits in Crockford base32, grouped for typing
 * (`ALGA-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXX`). Only the SHA-256 of the normalized code is
 * stored. Normalizing forgives case, spaces, dashes and the look-alikes O/0 and I/L/1.
 */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_BYTES = 20;

function base32(bytes: Uint8Array): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

export function mintInstallCode(): string {
  const body = base32(randomBytes(CODE_BYTES));
  return `ALGA-${body.match(/.{1,5}/g)!.join('-')}`;
}

/** The canonical form that is hashed; undefined when the text cannot be a code. */
export function normalizeInstallCode(text: unknown): string | undefined {
  if (typeof text !== 'string' || text.length > 200) return undefined;
  let code = text.toUpperCase().replace(/[\s-]/g, '');
  if (code.startsWith('ALGA')) code = code.slice(4);
  code = code.replace(/O/g, '0').replace(/[IL]/g, '1');
  return /^[0-9A-HJKMNP-TV-Z]{32}$/.test(code) ? code : undefined;
}

export function hashInstallCode(normalized: string): string {
  return createHash('sha256').update(`alga-install-code:${normalized}`).digest('hex');
}
