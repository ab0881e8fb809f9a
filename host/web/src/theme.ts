import { applyThemeTokens } from '../../../sdk/iframe/theme.ts';
import { themes } from '../theme.ts';

/**
 * The theme of every host page, loaded in the head so it applies before the first paint. The
 * choice is kept in localStorage (`alga-theme`) and holds on every page and in other tabs; with no
 * choice the system's preference counts. Pages that forward the theme (the extension page sends it
 * to its frame) listen for the `alga:theme` event.
 */
export type ThemeMode = 'light' | 'dark';
export const themeStorageKey = 'alga-theme';
export const themeEventName = 'alga:theme';

function storedMode(): ThemeMode | undefined {
  try {
    const value = localStorage.getItem(themeStorageKey);
    return value === 'dark' || value === 'light' ? value : undefined;
  } catch {
    return undefined; // storage disabled: the system preference still counts
  }
}

function preferredMode(): ThemeMode {
  return storedMode() ?? (typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

function apply(mode: ThemeMode): void {
  const root = document.documentElement;
  root.dataset.theme = mode;
  root.style.colorScheme = mode;
  applyThemeTokens(themes[mode], root);
  const toggle = document.getElementById('theme-toggle');
  if (toggle) {
    toggle.setAttribute('aria-pressed', String(mode === 'dark'));
    toggle.textContent = 'Dark theme';
    toggle.title = mode === 'dark' ? 'Dark theme is on; press to switch to the light theme' : 'Press to switch to the dark theme';
  }
  window.dispatchEvent(new CustomEvent(themeEventName, { detail: { mode, tokens: themes[mode] } }));
}

apply(preferredMode());

document.addEventListener('DOMContentLoaded', () => {
  apply(preferredMode());
  document.getElementById('theme-toggle')?.addEventListener('click', () => {
    const next: ThemeMode = document.documentElement.dataset.theme === 'dark' ? 'light' : 'dark';
    try {
      localStorage.setItem(themeStorageKey, next);
    } catch {
      // not kept, but this page still switches
    }
    apply(next);
  });
});

// Another tab changed the theme.
window.addEventListener('storage', (event) => {
  if (event.key === themeStorageKey) apply(preferredMode());
});
