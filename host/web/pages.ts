import { html, jsonForScript, raw, type RawHtml } from './html.ts';
import { pageConfigElementId, type ExtensionPageConfig } from './src/page-config.ts';

export interface MenuEntry {
  extensionId: string;
  label: string;
  href: string;
}

export interface SignedInUser {
  name: string;
  tenantId: string;
}

/** Where the page's static files are served (see host/plugins/extensions/ui). */
export const assetPaths = {
  style: '/ui/assets/style.css',
  theme: '/ui/assets/theme.js',
  extensionPage: '/ui/assets/ext-page.js',
  debugPage: '/ui/assets/debug-page.js',
} as const;

/** The host's own sections, in the top bar of every signed-in page. */
export type Section = 'installed' | 'catalog' | 'apps';
const sections: Array<{ id: Section; label: string; href: string }> = [
  { id: 'installed', label: 'Installed', href: '/console' },
  { id: 'catalog', label: 'Catalog', href: '/console/catalog' },
  { id: 'apps', label: 'Apps', href: '/ext' },
];

/**
 * The page frame every host page shares: head, the host's stylesheet, the theme script (in the
 * head, so the chosen theme applies before the first paint on every page), optional scripts.
 */
export function layout(title: string, body: RawHtml, scripts: string[] = []): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Alga</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetPaths.style}">
<script src="${assetPaths.theme}"></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
${body}
${scripts.map((src) => html`<script src="${src}"></script>`)}
</body>
</html>`}`;
}

/** The theme switch: a button the theme script wires up (it says which theme it switches to). */
export const themeToggle = html`<button type="button" id="theme-toggle" aria-pressed="false">Dark theme</button>`;

/**
 * The bar on top of every signed-in page: sections, who is signed in, theme, sign out.
 * `tenantQuery` (`tenantId=…`) keeps an operator without a tenant on the tenant they chose.
 */
export function topBar(user: SignedInUser, current: Section | null, tenantQuery = ''): RawHtml {
  const withTenant = (href: string) => (tenantQuery && href.startsWith('/console') ? `${href}?${tenantQuery}` : href);
  return html`<header class="top">
  <a class="brand" href="/">Alga</a>
  <nav class="sections" aria-label="Sections">
    <ul>
      ${sections.map((section) => html`<li><a href="${withTenant(section.href)}"${raw(section.id === current ? ' aria-current="page"' : '')}>${section.label}</a></li>`)}
    </ul>
  </nav>
  <span class="muted" id="signed-in-as">${user.name} · ${user.tenantId}</span>
  ${themeToggle}
  <form method="post" action="/logout"><button type="submit">Sign out</button></form>
</header>`;
}

export function loginPage(input: { next: string; username?: string; error?: string; notice?: string }): string {
  return layout(
    'Sign in',
    html`<div class="corner">${themeToggle}</div>
<main id="main">
<form class="login" method="post" action="/login">
  <h1>Sign in</h1>
  ${input.notice ? html`<p class="notice" role="status">${input.notice}</p>` : ''}
  ${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
  <input type="hidden" name="next" value="${input.next}">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${input.username ?? ''}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>
</main>`,
  );
}

function chrome(user: SignedInUser, menu: MenuEntry[], current: string | null, main: RawHtml): RawHtml {
  return html`${topBar(user, 'apps')}
<div class="layout">
  <nav class="menu" aria-label="Extensions">
    <h2>Extensions</h2>
    ${menu.length === 0 ? html`<p class="muted">No extensions installed. <a href="/console/catalog">Browse the catalog</a>.</p>` : ''}
    <ul>
      ${menu.map(
        (entry) =>
          html`<li><a href="${entry.href}" data-extension-id="${entry.extensionId}"${raw(entry.extensionId === current ? ' aria-current="page"' : '')}>${entry.label}</a></li>`,
      )}
    </ul>
  </nav>
  <main id="main">${main}</main>
</div>`;
}

export function homePage(user: SignedInUser, menu: MenuEntry[]): string {
  return layout('Extensions', chrome(user, menu, null, html`<h1>Extensions</h1><p class="muted">Choose an extension from the menu.</p>`));
}

export function extensionPage(user: SignedInUser, menu: MenuEntry[], title: string, config: ExtensionPageConfig): string {
  const main = html`<h1>${title}</h1>
<div id="ext-frame-slot" class="muted">Loading…</div>
<script type="application/json" id="${pageConfigElementId}">${raw(jsonForScript(config))}</script>`;
  return layout(title, chrome(user, menu, config.extensionId, main), [assetPaths.extensionPage]);
}

export function notFoundPage(user: SignedInUser, menu: MenuEntry[], message: string): string {
  return layout('Not found', chrome(user, menu, null, html`<h1>Not found</h1><p>${message}</p>`));
}
