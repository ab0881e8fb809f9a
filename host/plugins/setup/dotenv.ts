import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * The dotenv subset provision.env is read in (docs/provisioning.md, "provision.env"). Every
 * line is blank, a `#` comment, or `[export ]KEY=VALUE`, and a value is one of:
 *
 * - unquoted: the rest of the line, surrounding blanks trimmed, taken literally. A `#` after a
 *   blank is refused, never cut: `abc #def` could be a password or a password and a comment.
 * - single-quoted `'…'`: taken literally up to the next `'`; no escapes.
 * - double-quoted `"…"`: up to the next unescaped `"`; escapes `\"` `\\` `\n` `\r` `\t`, any other
 *   backslash sequence is refused.
 *
 * After a closing quote only blanks and an optional `# comment` may follow. There is no `$`
 * expansion, no multi-line value, and a key given twice is refused. Anything else is refused with
 * the line number, so a value is never silently changed.
 */

const LINE = /^(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$/;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', n: '\n', r: '\r', t: '\t' };

function invalid(lineNumber: number, reason: string): AlgaError {
  return new AlgaError('E_PROVISION_FILE_INVALID', `Line ${lineNumber}: ${reason}`);
}

/** Only blanks and an optional comment may follow a closing quote. */
function checkRest(rest: string, lineNumber: number, key: string): void {
  if (!/^[ \t]*(?:#.*)?$/.test(rest)) throw invalid(lineNumber, `${key} has text after its closing quote; quote the whole value.`);
}

function parseValue(raw: string, lineNumber: number, key: string): string {
  if (raw.startsWith("'")) {
    const end = raw.indexOf("'", 1);
    if (end < 0) throw invalid(lineNumber, `${key} opens a single quote that is not closed on the same line.`);
    checkRest(raw.slice(end + 1), lineNumber, key);
    return raw.slice(1, end);
  }
  if (raw.startsWith('"')) {
    let value = '';
    for (let i = 1; i < raw.length; i++) {
      const char = raw[i];
      if (char === '"') {
        checkRest(raw.slice(i + 1), lineNumber, key);
        return value;
      }
      if (char === '\\') {
        const next = raw[i + 1];
        if (next === undefined || !(next in ESCAPES)) {
          throw invalid(lineNumber, `${key} has the escape "\\${next ?? ''}"; inside double quotes only \\" \\\\ \\n \\r \\t are escapes (use single quotes for a literal backslash).`);
        }
        value += ESCAPES[next];
        i++;
        continue;
      }
      value += char;
    }
    throw invalid(lineNumber, `${key} opens a double quote that is not closed on the same line.`);
  }
  const value = raw.trim();
  if (/[ \t]#/.test(value)) {
    throw invalid(lineNumber, `the value of ${key} has " #" in it, which could be a comment or part of the value; quote the value ('…') to keep the "#", or remove the comment.`);
  }
  return value;
}

/** Parses the text into KEY → value; `known` names the keys that may appear. */
export function parseDotenv(text: string, known: ReadonlySet<string>): Map<string, string> {
  const values = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((line, index) => {
    const lineNumber = index + 1;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = LINE.exec(trimmed);
    if (!match) throw invalid(lineNumber, 'it is not KEY=VALUE.');
    const [, key, raw] = match;
    if (!known.has(key)) throw invalid(lineNumber, `unknown setting ${key} (known: ${[...known].join(', ')}).`);
    if (values.has(key)) throw invalid(lineNumber, `${key} is given a second time.`);
    const value = parseValue(raw, lineNumber, key);
    if (/[\u0000-\u0008\u000b-\u001f\u007f]/.test(value)) throw invalid(lineNumber, `the value of ${key} holds a control character.`);
    values.set(key, value);
  });
  return values;
}

/** UTF-8 text, or a refusal: a byte that is not UTF-8 would silently become U+FFFD in a password. */
export function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AlgaError('E_PROVISION_FILE_INVALID', `${what} is not UTF-8 text.`);
  }
}
