import type { ExecutionRecord } from '../../plugins/extensions/gateway/execution-log.ts';
import type { ConsentPlan } from '../../plugins/extensions/installs/consent.ts';
import { html, type RawHtml } from '../html.ts';
import { signatureBadge } from './catalog-pages.ts';
import { badge, catalogPath, consoleHref, consolePage, extensionPath, formatDate, shortHash, type ConsoleViewer } from './chrome.ts';
import { renderConfigFields } from './config-form.ts';
import { executionTable } from './execution-table.ts';
import { capabilityFields, egressFields, type PermissionChoice } from './permission-fields.ts';
import { displayName, type InstallView, type LimitCeilingsView, type VersionView } from './view-models.ts';

/** The install page's forms; an error names the form it belongs to, so its drafts are shown again there. */
export type InstallSection = 'status' | 'permissions' | 'config' | 'secrets' | 'limits';

export interface InstallPageError {
  section: InstallSection;
  message: string;
  /** What was posted (never secret values), to show again. */
  draft?: { grants?: string[]; egress?: string[]; egressHosts?: string[]; config?: Record<string, unknown>; limits?: Record<string, string> };
}

export interface InstalledRow {
  install: InstallView;
  /** The newest version above the installed one, and whether moving to it asks for anything new. */
  update?: { version: string; asksMore: boolean };
  lastError?: ExecutionRecord;
}

export function installedListPage(viewer: ConsoleViewer, rows: InstalledRow[], notice?: string): string {
  const main = html`<h1>Installed extensions</h1>
${rows.length === 0
  ? html`<div class="empty" id="installed-empty">
  <p>No extensions are installed for ${viewer.tenantName} yet.</p>
  ${viewer.canManage ? html`<p><a class="button primary" href="${consoleHref(viewer, '/console/catalog')}">Browse the catalog</a></p>` : html`<p class="muted">Ask an admin of your tenant to install one.</p>`}
</div>`
  : html`<table class="data" id="installed">
  <caption class="visually-hidden">Extensions installed for ${viewer.tenantName}</caption>
  <thead><tr><th scope="col">Extension</th><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Last error</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
  <tbody>
  ${rows.map(({ install, update, lastError }) => html`<tr data-extension-id="${install.extensionId}">
    <th scope="row"><a href="${consoleHref(viewer, extensionPath(install.extensionId))}">${install.name}</a><br><code class="muted">${install.extensionId}</code></th>
    <td>${install.version}${update ? html`<br>${badge(`${update.version} available${update.asksMore ? ', asks for more' : ''}`, update.asksMore ? 'warn' : 'info')}` : ''}</td>
    <td>${install.enabled ? badge('enabled', 'ok') : badge('disabled', 'warn')}</td>
    <td>${lastError ? html`<code class="error-code">${lastError.error}</code> ${formatDate(lastError.at)}${lastError.cause ? html`<br><span class="muted">${lastError.cause}</span>` : ''}` : html`<span class="muted">none</span>`}</td>
    <td><a href="${consoleHref(viewer, extensionPath(install.extensionId))}">Manage</a>${install.hasUi && install.enabled ? html` · <a href="/ext/${encodeURIComponent(install.extensionId)}">Open</a>` : ''}</td>
  </tr>`)}
  </tbody>
</table>
${viewer.canManage ? html`<p><a href="${consoleHref(viewer, '/console/catalog')}">Install another extension from the catalog</a></p>` : ''}`}`;
  return consolePage({ viewer, section: 'installed', title: 'Installed extensions', notice, main });
}

function formFor(viewer: ConsoleViewer, install: InstallView, section: InstallSection, body: RawHtml, label: string): RawHtml {
  return html`<form method="post" action="${consoleHref(viewer, extensionPath(install.extensionId, `/${section}`))}" class="stack" id="${section}-form">
  <input type="hidden" name="updatedAt" value="${install.updatedAt}">
  ${body}
  ${viewer.canManage ? html`<div class="actions"><button type="submit" class="primary">${label}</button></div>` : ''}
</form>`;
}

function sectionError(error: InstallPageError | undefined, section: InstallSection): RawHtml {
  return error?.section === section ? html`<p class="error" role="alert" id="${section}-error">${error.message}</p>` : html``;
}

export function installPage(viewer: ConsoleViewer, install: InstallView, input: { recent: ExecutionRecord[]; ceilings: LimitCeilingsView; notice?: string; error?: InstallPageError; signature?: VersionView['signature'] }): string {
  const { manifest } = install;
  const error = input.error;
  const draft = error?.draft ?? {};
  const declaredEgress = manifest.egress ?? [];
  const grants = draft.grants ?? install.grants;
  const egress = draft.egress ?? install.egress.filter((host) => declaredEgress.includes(host));
  const egressHosts = draft.egressHosts ?? install.egress.filter((host) => !declaredEgress.includes(host));
  const capabilityChoices: PermissionChoice[] = manifest.capabilities.map((capability) => ({ value: capability, checked: grants.includes(capability) }));
  const egressChoices: PermissionChoice[] = declaredEgress.map((entry) => ({ value: entry, checked: egress.includes(entry) }));
  const declaredSecrets = manifest.secrets ?? [];
  const secretRows = [...new Set([...declaredSecrets.map((secret) => secret.name), ...install.secretNames])].sort();
  const describe = (name: string) => declaredSecrets.find((secret) => secret.name === name)?.description;
  const newest = install.newer[0];
  const disabledNote = viewer.canManage ? '' : html`<p class="muted">You can look but not change: changing installs needs a tenant admin.</p>`;
  const limitsDraft = draft.limits ?? {};
  const limitField = (name: keyof LimitCeilingsView, label: string, unit: string) => html`<div class="field">
    <label for="limit-${name}">${label} <span class="muted">(${unit}, at most ${input.ceilings[name]})</span></label>
    <input type="number" id="limit-${name}" name="${name}" min="1" max="${input.ceilings[name]}" step="1" required value="${limitsDraft[name] ?? String(install.limits[name])}">
  </div>`;

  const main = html`<h1>${install.name}</h1>
<p class="muted"><code>${install.extensionId}</code> · version ${install.version} ${shortHash(install.contentHash)} · installed ${formatDate(install.createdAt)} · changed ${formatDate(install.updatedAt)}</p>
${input.signature ? html`<p>${signatureBadge(input.signature)}</p>` : ''}
<ul class="links">
  ${install.hasUi && install.enabled ? html`<li><a href="/ext/${encodeURIComponent(install.extensionId)}">Open its page</a></li>` : ''}
  <li><a href="${consoleHref(viewer, extensionPath(install.extensionId, '/executions'))}">Execution log</a></li>
  ${viewer.canDebug ? html`<li><a href="${consoleHref(viewer, `/ext-debug/${encodeURIComponent(install.extensionId)}`)}">Live debug stream</a></li>` : ''}
  <li><a href="${consoleHref(viewer, catalogPath(install.extensionId))}">All versions in the catalog</a></li>
</ul>
${disabledNote}

<section aria-labelledby="status-heading" class="panel">
  <h2 id="status-heading">Status</h2>
  ${sectionError(error, 'status')}
  <p id="install-status">${install.enabled ? html`${badge('enabled', 'ok')} Calls reach the extension.` : html`${badge('disabled', 'warn')} Calls answer 404 until you enable it again; its settings and data are kept.`}</p>
  ${viewer.canManage
    ? html`<form method="post" action="${consoleHref(viewer, extensionPath(install.extensionId, '/status'))}" id="status-form">
    <input type="hidden" name="updatedAt" value="${install.updatedAt}">
    <input type="hidden" name="enabled" value="${install.enabled ? 'false' : 'true'}">
    <button type="submit">${install.enabled ? 'Disable' : 'Enable'}</button>
  </form>`
    : ''}
</section>

<section aria-labelledby="version-heading" class="panel">
  <h2 id="version-heading">Version</h2>
  ${newest
    ? html`<p id="update-available">${badge(`${newest.version} is available`, 'info')} You run ${install.version}. ${viewer.canManage ? html`<a href="${consoleHref(viewer, extensionPath(install.extensionId, '/version'), { version: newest.version })}">Review the update</a>` : ''}</p>`
    : html`<p class="muted">${install.version} is the newest published version.</p>`}
</section>

<section aria-labelledby="permissions-heading" class="panel">
  <h2 id="permissions-heading">Permissions</h2>
  ${sectionError(error, 'permissions')}
  ${formFor(viewer, install, 'permissions', html`${capabilityFields(capabilityChoices, 'permissions')}${egressFields(egressChoices, egressHosts, 'permissions')}`, 'Save permissions')}
</section>

<section aria-labelledby="config-heading" class="panel">
  <h2 id="config-heading">Settings</h2>
  ${sectionError(error, 'config')}
  ${formFor(viewer, install, 'config', renderConfigFields(manifest.configSchema, draft.config ?? install.config, 'settings'), 'Save settings')}
</section>

<section aria-labelledby="secrets-heading" class="panel">
  <h2 id="secrets-heading">Secrets</h2>
  <p class="hint">Values are sealed for the runner when you save and are never shown again, here or anywhere. Type a new value to replace one.</p>
  ${sectionError(error, 'secrets')}
  ${formFor(
    viewer,
    install,
    'secrets',
    html`${secretRows.length === 0 ? html`<p class="muted">No secrets are set, and this version declares none.</p>` : html`<table class="data" id="secrets">
    <caption class="visually-hidden">Secrets of this install</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">State</th>${viewer.canManage ? html`<th scope="col">New value</th><th scope="col">Remove</th>` : ''}</tr></thead>
    <tbody>
    ${secretRows.map((name) => {
      const set = install.secretNames.includes(name);
      return html`<tr data-secret="${name}">
      <th scope="row"><code>${name}</code>${describe(name) ? html`<br><span class="muted">${describe(name)}</span>` : ''}</th>
      <td class="secret-state">${set ? badge('set', 'ok') : badge('not set', 'warn')}</td>
      ${viewer.canManage
        ? html`<td><label class="visually-hidden" for="secret-${name}">New value for ${name}</label><input type="password" id="secret-${name}" name="secret.${name}" autocomplete="off"></td>
      <td>${set ? html`<input type="checkbox" id="remove-${name}" name="remove" value="${name}"><label for="remove-${name}" class="visually-hidden">Remove ${name}</label>` : ''}</td>`
        : ''}
    </tr>`;
    })}
    </tbody>
  </table>`}
  ${viewer.canManage
    ? html`<fieldset class="add-secret"><legend>Add a secret</legend>
    <div class="field"><label for="new-secret-name">Name</label><input id="new-secret-name" name="newSecretName" pattern="[A-Za-z0-9_.\\-]{1,128}" spellcheck="false" autocomplete="off"></div>
    <div class="field"><label for="new-secret-value">Value</label><input type="password" id="new-secret-value" name="newSecretValue" autocomplete="off"></div>
  </fieldset>`
    : ''}`,
    'Save secrets',
  )}
</section>

<section aria-labelledby="limits-heading" class="panel">
  <h2 id="limits-heading">Limits</h2>
  ${sectionError(error, 'limits')}
  ${formFor(
    viewer,
    install,
    'limits',
    html`${limitField('memoryMb', 'Memory', 'MB')}${limitField('timeoutMs', 'Time per call', 'ms')}${limitField('requestsPerMinute', 'Requests per minute', 'calls')}${limitField('maxConcurrency', 'Calls at once', 'calls')}`,
    'Save limits',
  )}
</section>

<section aria-labelledby="recent-heading" class="panel">
  <h2 id="recent-heading">Recent calls</h2>
  ${executionTable(input.recent, `The latest calls to ${install.name}`)}
  <p><a href="${consoleHref(viewer, extensionPath(install.extensionId, '/executions'))}">The whole execution log</a></p>
</section>

${viewer.canManage
  ? html`<section aria-labelledby="remove-heading" class="panel danger">
  <h2 id="remove-heading">Uninstall</h2>
  <p>Removes the install, its settings and secrets for ${viewer.tenantName}.</p>
  <p><a class="button danger" href="${consoleHref(viewer, extensionPath(install.extensionId, '/uninstall'))}">Uninstall…</a></p>
</section>`
  : ''}`;
  return consolePage({
    viewer,
    section: 'installed',
    title: install.name,
    crumbs: [{ label: 'Installed', href: consoleHref(viewer, '/console') }, { label: install.name }],
    notice: input.notice,
    error: error ? `${error.message}` : undefined,
    main,
  });
}

/**
 * The consent page for moving an install to another version: what the new version adds (not
 * ticked), what it keeps (ticked as granted now), what it no longer asks for; then its settings.
 */
export function versionChangePage(viewer: ConsoleViewer, install: InstallView, target: VersionView, plan: ConsentPlan, input: { error?: string; draft?: { grants?: string[]; egress?: string[]; egressHosts?: string[]; config?: Record<string, unknown> } } = {}): string {
  const { manifest } = target;
  const draft = input.draft ?? {};
  const direction = target.version === install.version ? 'Reinstall' : install.newer.some((version) => version.version === target.version) ? 'Update' : 'Move';
  const grants = draft.grants ?? plan.kept.capabilities;
  const declaredEgress = manifest.egress ?? [];
  const egress = draft.egress ?? plan.kept.egress.filter((host) => declaredEgress.includes(host));
  const egressHosts = draft.egressHosts ?? plan.kept.egress.filter((host) => !declaredEgress.includes(host));
  const tagOf = (value: string, undecided: string[], kept: string[]): PermissionChoice['tag'] => (undecided.includes(value) ? 'new' : kept.includes(value) ? undefined : 'declined');
  const capabilityChoices: PermissionChoice[] = manifest.capabilities.map((capability) => ({ value: capability, checked: grants.includes(capability), tag: tagOf(capability, plan.undecided.capabilities, plan.kept.capabilities) }));
  const egressChoices: PermissionChoice[] = declaredEgress.map((entry) => ({ value: entry, checked: egress.includes(entry), tag: plan.undecided.egress.includes(entry) ? 'new' : egress.includes(entry) ? undefined : 'declined' }));
  const asksMore = plan.undecided.capabilities.length + plan.undecided.egress.length > 0;
  const dropped = [...plan.dropped.capabilities, ...plan.dropped.egress];
  const name = displayName(manifest);
  const main = html`<h1>${direction} ${name}: ${install.version} → ${target.version}</h1>
<p>${signatureBadge(target.signature)}</p>
${asksMore
  ? html`<div class="callout warn" id="asks-more"><p><strong>${target.version} asks for more than ${install.version} did:</strong> ${[...plan.undecided.capabilities, ...plan.undecided.egress].join(', ')}.</p><p>Nothing new is granted unless you tick it. Calls that need something you do not grant are refused and show as "denied" in the execution log.</p></div>`
  : html`<p class="callout" id="asks-nothing-new">${target.version} asks for nothing that ${install.version} did not ask for.</p>`}
${dropped.length > 0 ? html`<p id="dropped">No longer asked for, and dropped from the grants: ${dropped.join(', ')}.</p>` : ''}
<form method="post" action="${consoleHref(viewer, extensionPath(install.extensionId, '/version'))}" class="stack" id="version-form">
  <input type="hidden" name="version" value="${target.version}">
  <input type="hidden" name="updatedAt" value="${install.updatedAt}">
  ${capabilityFields(capabilityChoices, 'version')}
  ${egressFields(egressChoices, egressHosts, 'version')}
  <h2>Settings for ${target.version}</h2>
  ${renderConfigFields(manifest.configSchema, draft.config ?? install.config, 'version')}
  <div class="actions"><button class="primary" type="submit">${direction} to ${target.version}</button> <a href="${consoleHref(viewer, extensionPath(install.extensionId))}">Cancel</a></div>
  <p class="hint">Until you confirm, ${install.version} keeps serving with its current grants.</p>
</form>`;
  return consolePage({
    viewer,
    section: 'installed',
    title: `${direction} ${name}`,
    crumbs: [{ label: 'Installed', href: consoleHref(viewer, '/console') }, { label: install.name, href: consoleHref(viewer, extensionPath(install.extensionId)) }, { label: `${direction} to ${target.version}` }],
    error: input.error,
    main,
  });
}

export function uninstallPage(viewer: ConsoleViewer, install: InstallView, error?: string): string {
  const main = html`<h1>Uninstall ${install.name}?</h1>
<p>This removes ${install.name} ${install.version} for ${viewer.tenantName}: its settings, grants and secrets. Calls to it answer 404 at once. You can install it again from the catalog.</p>
<form method="post" action="${consoleHref(viewer, extensionPath(install.extensionId, '/uninstall'))}" id="uninstall-form">
  <input type="hidden" name="updatedAt" value="${install.updatedAt}">
  <p><input type="checkbox" id="uninstall-purge" name="purge" value="storage"> <label for="uninstall-purge">Also delete the data ${install.name} stored for ${viewer.tenantName}</label></p>
  <p class="muted">Without this the data stays, and installing ${install.name} again finds it. Deleted data cannot be brought back.</p>
  <div class="actions"><button class="danger" type="submit">Uninstall ${install.name}</button> <a href="${consoleHref(viewer, extensionPath(install.extensionId))}">Keep it</a></div>
</form>`;
  return consolePage({
    viewer,
    section: 'installed',
    title: `Uninstall ${install.name}`,
    crumbs: [{ label: 'Installed', href: consoleHref(viewer, '/console') }, { label: install.name, href: consoleHref(viewer, extensionPath(install.extensionId)) }, { label: 'Uninstall' }],
    error,
    main,
  });
}

export function tenantPickerPage(viewer: Omit<ConsoleViewer, 'tenantId' | 'tenantName'>, tenants: Array<{ id: string; name: string }>): string {
  const main = html`<h1>Choose a tenant</h1>
<p class="muted">Your operator account belongs to no tenant. Choose the tenant whose extensions you want to manage.</p>
${tenants.length === 0
  ? html`<p id="no-tenants">There are no tenants yet. Create one with <code>alga-host tenant create --name NAME</code>.</p>`
  : html`<ul id="tenants">${tenants.map((tenant) => html`<li><a href="/console?tenantId=${encodeURIComponent(tenant.id)}">${tenant.name}</a> <code class="muted">${tenant.id}</code></li>`)}</ul>`}`;
  return consolePage({ viewer: { ...viewer, tenantId: '', tenantName: '' }, section: 'installed', title: 'Choose a tenant', main });
}
