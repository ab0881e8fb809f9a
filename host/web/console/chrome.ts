import { html, type RawHtml } from '../html.ts';
import { layout, topBar, type Section, type SignedInUser } from '../pages.ts';

/** Who is looking at a console page, for which tenant, and what they may do there. */
export interface ConsoleViewer {
  user: SignedInUser;
  tenantId: string;
  tenantName: string;
  /** Set for operators without a tenant of their own: links carry `?tenantId=`. */
  namedTenant?: string;
  /** May install, change and remove (`installs:write`). */
  canManage: boolean;
  /** May watch debug streams (`ext:debug`). */
  canDebug: boolean;
}

/** A console link: the path with its query, plus the tenant an operator is looking at. */
export function consoleHref(viewer: Pick<ConsoleViewer, 'namedTenant'> | undefined, path: string, query: Record<string, string | undefined> = {}): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, value);
  if (viewer?.namedTenant) params.set('tenantId', viewer.namedTenant);
  const search = params.toString();
  return search ? `${path}?${search}` : path;
}

export const extensionPath = (extensionId: string, below = '') => `/console/installs/${encodeURIComponent(extensionId)}${below}`;
export const catalogPath = (extensionId: string, below = '') => `/console/catalog/${encodeURIComponent(extensionId)}${below}`;

export interface Crumb {
  label: string;
  href?: string;
}

/** A console page: the top bar, breadcrumbs, a notice or an error, and the page's own content. */
export function consolePage(input: {
  viewer: ConsoleViewer;
  section: Section | null;
  title: string;
  crumbs?: Crumb[];
  notice?: string;
  error?: string;
  main: RawHtml;
  scripts?: string[];
}): string {
  const { viewer } = input;
  const crumbs = input.crumbs ?? [];
  const body = html`${topBar(viewer.user, input.section, viewer.namedTenant ? new URLSearchParams({ tenantId: viewer.namedTenant }).toString() : '')}
<main id="main" class="console">
  ${crumbs.length > 0
    ? html`<nav class="crumbs" aria-label="Breadcrumb"><ol>${crumbs.map((crumb, index) =>
        crumb.href && index < crumbs.length - 1 ? html`<li><a href="${crumb.href}">${crumb.label}</a></li>` : html`<li aria-current="page">${crumb.label}</li>`,
      )}</ol></nav>`
    : ''}
  ${viewer.namedTenant ? html`<p class="muted tenant-line">Tenant: <strong>${viewer.tenantName}</strong> (${viewer.tenantId}) · <a href="/console/tenants">choose another</a></p>` : ''}
  ${input.notice ? html`<p class="notice" role="status" id="notice">${input.notice}</p>` : ''}
  ${input.error ? html`<div class="error-box" role="alert" id="form-error" tabindex="-1"><p>${input.error}</p></div>` : ''}
  ${input.main}
</main>`;
  return layout(input.title, body, input.scripts ?? []);
}

/** A short page that says one thing (not found, not allowed) with a way on. */
export function messagePage(viewer: ConsoleViewer, title: string, message: string, next: { label: string; href: string } = { label: 'Back to installed extensions', href: '/console' }): string {
  return consolePage({
    viewer,
    section: null,
    title,
    main: html`<h1>${title}</h1><p id="message">${message}</p><p><a href="${consoleHref(viewer, next.href)}">${next.label}</a></p>`,
  });
}

export function badge(text: string, kind: 'ok' | 'warn' | 'bad' | 'info' = 'info'): RawHtml {
  return html`<span class="badge badge-${kind}">${text}</span>`;
}

export function formatDate(iso: string | undefined): RawHtml {
  if (!iso) return html``;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`${iso}`;
  return html`<time datetime="${date.toISOString()}">${date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
}

export function shortHash(hash: string): RawHtml {
  return html`<code title="${hash}">${hash.replace(/^sha256:/, '').slice(0, 12)}</code>`;
}
