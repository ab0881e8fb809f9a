import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Placeholder values: every token-looking string published in the project's docs, examples and
 * sample config. A secret equal to one of them was copied from the docs and is refused.
 * The files are scanned when secrets are checked, so a placeholder added to the docs later is
 * refused without anyone keeping a list in sync.
 */

export const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** Words nobody should use as a secret, whether or not the docs mention them. */
const COMMON_PLACEHOLDERS = ['changeme', 'change-me', 'changeit', 'replace-me', 'replaceme', 'secret', 'password', 'example', 'placeholder', 'your-secret-here', 'xxxxxxxx', 'todo'];

const SKIPPED_DIRS = new Set(['node_modules', '.git', 'dist', '.alga-cache', '.tmp', 'coverage', '.alga-data']);
const TEXT_FILE = /\.(md|txt|env|ya?ml|json|conf|cfg|ini|toml|service|sh|example|sample|html)$|^[^.]+$/i;
const SAMPLE_CONFIG = /(\.example|\.sample)(\.|$)|^sample[-_.]|\.env\./i;
const MAX_FILE_BYTES = 512 * 1024;

function walk(dir: string, visit: (path: string) => void): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) {
      if (!SKIPPED_DIRS.has(entry.name)) walk(join(dir, entry.name), visit);
    } else if (entry.isFile()) {
      visit(join(dir, entry.name));
    }
  }
}

/** Files whose values are placeholders: docs/**, examples/**, READMEs, and sample config anywhere. */
export function placeholderSourceFiles(root = projectRoot): string[] {
  const files: string[] = [];
  walk(root, (path) => {
    const rel = relative(root, path).split('\\').join('/');
    const name = rel.slice(rel.lastIndexOf('/') + 1);
    const inDocs = rel.startsWith('docs/') || rel.startsWith('examples/');
    const isReadme = /^readme/i.test(name);
    if ((inDocs && TEXT_FILE.test(name)) || isReadme || SAMPLE_CONFIG.test(name)) files.push(path);
  });
  return files.sort();
}

/**
 * Token-looking strings in a text: runs of key/token characters at least 8 long. `=` belongs to
 * base64, so `KEY=value` is also taken apart into `KEY` and `value`.
 */
export function extractCandidates(text: string): string[] {
  return text
    .split(/[^A-Za-z0-9+/=_\-.~]+/)
    .flatMap((piece) => [piece, ...piece.split(/=+(?=[^=])/)])
    .map((piece) => piece.replace(/^[.=~-]+|[.]+$/g, ''))
    .filter((piece) => piece.length >= 8);
}

/**
 * What the project publishes, in two forms: the texts (lower-cased, for passwords and tokens
 * compared as text) and the bytes every base64, base64url or hex text decodes to (hex), so a
 * key copied from the docs is refused however it is spelled (`+/` or `-_`, with or without `=`).
 */
export interface PublishedPlaceholders {
  texts: Set<string>;
  bytes: Set<string>;
}

/** Keys shorter than this are never compared as bytes (too short to be a copied key). */
const MIN_KEY_BYTES_COMPARED = 16;

/** The byte strings (hex) a published text may stand for: base64 of either alphabet, and hex. */
export function decodedForms(text: string): string[] {
  const forms: string[] = [];
  const unpadded = text.replace(/=+$/, '');
  if (/^[A-Za-z0-9+/_-]+$/.test(unpadded) && unpadded.length % 4 !== 1) {
    const bytes = Buffer.from(unpadded.replaceAll('-', '+').replaceAll('_', '/'), 'base64');
    if (bytes.length >= MIN_KEY_BYTES_COMPARED) forms.push(bytes.toString('hex'));
  }
  if (/^(?:[0-9a-fA-F]{2})+$/.test(text) && text.length / 2 >= MIN_KEY_BYTES_COMPARED) forms.push(text.toLowerCase());
  return forms;
}

/** Every placeholder value published in the project. */
export function publishedPlaceholders(root = projectRoot): PublishedPlaceholders {
  const texts = new Set(COMMON_PLACEHOLDERS);
  const bytes = new Set<string>();
  for (const file of placeholderSourceFiles(root)) {
    try {
      if (statSync(file).size > MAX_FILE_BYTES) continue;
      const text = readFileSync(file, 'utf8');
      if (text.includes('\u0000')) continue;
      for (const candidate of extractCandidates(text)) {
        texts.add(candidate.toLowerCase());
        for (const form of decodedForms(candidate)) bytes.add(form);
      }
    } catch {
      // unreadable file: nothing published there
    }
  }
  return { texts, bytes };
}

/** True when `value` (or any of its lines) equals a published placeholder text. */
export function isPublishedPlaceholder(value: string, placeholders: PublishedPlaceholders): boolean {
  const forms = [value, ...value.split(/\r?\n/)].map((form) => form.trim().toLowerCase()).filter(Boolean);
  return forms.some((form) => placeholders.texts.has(form));
}

/**
 * True when key bytes were published in any spelling: equal to the bytes a published text decodes
 * to, or found inside them (a raw key inside a published PEM/DER blob).
 */
export function isPublishedKeyBytes(key: Uint8Array, placeholders: PublishedPlaceholders): boolean {
  if (key.length < MIN_KEY_BYTES_COMPARED) return false;
  const hex = Buffer.from(key).toString('hex');
  if (placeholders.bytes.has(hex)) return true;
  for (const published of placeholders.bytes) {
    for (let at = published.indexOf(hex); at >= 0; at = published.indexOf(hex, at + 1)) if (at % 2 === 0) return true;
  }
  return false;
}
