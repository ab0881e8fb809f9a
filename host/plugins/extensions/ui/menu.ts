import type { MenuEntry } from '../../../web/pages.ts';
import type { InstalledUi } from './installed-ui.ts';

/** The page path for an extension UI path: `/ext/{extensionId}` plus the path below `/`. */
export function extensionPagePath(extensionId: string, path = '/'): string {
  const below = path === '/' || path === '' ? '' : path.startsWith('/') ? path : `/${path}`;
  return `/ext/${encodeURIComponent(extensionId)}${below}`;
}

/** Menu entries from the installs' `ui.hooks` of type `menu` (only installs that have a UI), by label. */
export function menuEntries(installs: InstalledUi[]): MenuEntry[] {
  const entries: MenuEntry[] = [];
  for (const install of installs) {
    if (!install.manifest.ui?.iframe?.entry) continue;
    for (const hook of install.manifest.ui.hooks ?? []) {
      if (hook.type !== 'menu' || typeof hook.label !== 'string') continue;
      const path = typeof hook.path === 'string' && hook.path.startsWith('/') && !hook.path.startsWith('//') ? hook.path : '/';
      entries.push({ extensionId: install.extensionId, label: hook.label, href: extensionPagePath(install.extensionId, path) });
    }
  }
  return entries.sort((a, b) => a.label.localeCompare(b.label) || a.extensionId.localeCompare(b.extensionId));
}
