import type { ThemeTokens } from './envelope.ts';

const tokenName = /^(--)?[a-zA-Z0-9][a-zA-Z0-9_-]*$/;
const unsafeValue = /[;{}<>\\]|url\s*\(|expression\s*\(/i;

/** The CSS variable a token sets: `primary` → `--alga-primary`; `--x` stays `--x`. */
export function cssVariableName(token: string): string | null {
  if (!tokenName.test(token)) return null;
  return token.startsWith('--') ? token : `--alga-${token}`;
}

/**
 * Sets each token as a CSS custom property on `root` (the document element by default).
 * Tokens with odd names or values that could escape the declaration are skipped.
 * Returns the variables it set.
 */
export function applyThemeTokens(tokens: ThemeTokens, root?: HTMLElement): string[] {
  const target = root ?? document.documentElement;
  const applied: string[] = [];
  for (const [token, value] of Object.entries(tokens ?? {})) {
    const name = cssVariableName(token);
    if (!name || typeof value !== 'string' || value.length > 200 || unsafeValue.test(value)) continue;
    target.style.setProperty(name, value);
    applied.push(name);
  }
  return applied;
}
