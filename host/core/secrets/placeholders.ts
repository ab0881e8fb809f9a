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

/** Every placeholder value published in the project, lower-cased. */
export function publishedPlaceholders(root = projectRoot): Set<string> {
  const values = new Set(COMMON_PLACEHOLDERS);
  for (const file of placeholderSourceFiles(root)) {
    try {
      if (statSync(file).size > MAX_FILE_BYTES) continue;
      const text = readFileSync(file, 'utf8');
      if (text.includes('\u0000')) continue;
      for (const candidate of extractCandidates(text)) values.add(candidate.toLowerCase());
    } catch {
      // unreadable file: nothing published there
    }
  }
  return values;
}

/** True when `value` (or any of its lines) equals a published placeholder. */
export function isPublishedPlaceholder(value: string, placeholders: Set<string>): boolean {
  const forms = [value, ...value.split(/\r?\n/)].map((form) => form.trim().toLowerCase()).filter(Boolean);
  return forms.some((form) => placeholders.has(form));
}
