import { html, jsonForScript, raw, type RawHtml } from './html.ts';
import { pageConfigElementId, type DebugPageConfig, type ExtensionPageConfig } from './src/page-config.ts';

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
export const assetPaths = { style: '/ui/assets/style.css', extensionPage: '/ui/assets/ext-page.js', debugPage: '/ui/assets/debug-page.js' } as const;

/** The page frame every host page shares: head, the host's stylesheet, optional scripts. */
export function layout(title: string, body: RawHtml, scripts: string[] = []): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${assetPaths.style}">
</head>
<body>
${body}
${scripts.map((src) => html`<script src="${src}"></script>`)}
</body>
</html>`}`;
}

export function loginPage(input: { next: string; username?: string; error?: string }): string {
  return layout(
    'Sign in',
    html`<form class="login" method="post" action="/login">
  <h1>Sign in</h1>
  ${input.error ? html`<p class="error" role="alert">${input.error}</p>` : ''}
  <input type="hidden" name="next" value="${input.next}">
  <label for="username">Username</label>
  <input id="username" name="username" autocomplete="username" required value="${input.username ?? ''}">
  <label for="password">Password</label>
  <input id="password" name="password" type="password" autocomplete="current-password" required>
  <div class="actions"><button class="primary" type="submit">Sign in</button></div>
</form>`,
  );
}

function chrome(user: SignedInUser, menu: MenuEntry[], current: string | null, main: RawHtml): RawHtml {
  return html`<header class="top">
  <span class="brand">Alga</span>
  <span class="muted" id="signed-in-as">${user.name} · ${user.tenantId}</span>
  <button type="button" id="theme-toggle">Theme</button>
  <form method="post" action="/logout"><button type="submit">Sign out</button></form>
</header>
<div class="layout">
  <nav class="menu" aria-label="Extensions">
    <h2>Extensions</h2>
    ${menu.length === 0 ? html`<p class="muted">No extensions installed.</p>` : ''}
    <ul>
      ${menu.map(
        (entry) =>
          html`<li><a href="${entry.href}" data-extension-id="${entry.extensionId}"${raw(entry.extensionId === current ? ' aria-current="page"' : '')}>${entry.label}</a></li>`,
      )}
    </ul>
  </nav>
  <main>${main}</main>
</div>`;
}

export function homePage(user: SignedInUser, menu: MenuEntry[]): string {
  return layout('Extensions', chrome(user, menu, null, html`<h1>Extensions</h1><p class="muted">Choose an extension from the menu.</p>`), [
    assetPaths.extensionPage,
  ]);
}

export function extensionPage(user: SignedInUser, menu: MenuEntry[], title: string, config: ExtensionPageConfig): string {
  const main = html`<h1>${title}</h1>
<div id="ext-frame-slot" class="muted">Loading…</div>
<script type="application/json" id="${pageConfigElementId}">${raw(jsonForScript(config))}</script>`;
  return layout(title, chrome(user, menu, config.extensionId, main), [assetPaths.extensionPage]);
}

export function notFoundPage(user: SignedInUser, menu: MenuEntry[], message: string): string {
  return layout('Not found', chrome(user, menu, null, html`<h1>Not found</h1><p>${message}</p>`), [assetPaths.extensionPage]);
}

export function debugPage(user: SignedInUser, menu: MenuEntry[], config: DebugPageConfig): string {
  const main = html`<h1>Debug: ${config.extensionId}</h1>
<p id="debug-status" class="muted" role="status">Connecting…</p>
<table class="debug">
  <thead><tr><th>Time</th><th>Level</th><th>Stream</th><th>Request</th><th>Message</th></tr></thead>
  <tbody id="debug-events"></tbody>
</table>
<script type="application/json" id="${pageConfigElementId}">${raw(jsonForScript(config))}</script>`;
  return layout(`Debug ${config.extensionId}`, chrome(user, menu, null, main), [assetPaths.debugPage]);
}

export function forbiddenPage(user: SignedInUser, menu: MenuEntry[], message: string): string {
  return layout('Not allowed', chrome(user, menu, null, html`<h1>Not allowed</h1><p>${message}</p>`), [assetPaths.extensionPage]);
}
