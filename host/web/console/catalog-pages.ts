import { html, type RawHtml } from '../html.ts';
import { badge, catalogPath, consoleHref, consolePage, extensionPath, formatDate, shortHash, type ConsoleViewer } from './chrome.ts';
import { renderConfigFields } from './config-form.ts';
import { capabilityFields, egressFields, type PermissionChoice } from './permission-fields.ts';
import { capabilityTitle } from './permission-text.ts';
import { displayName, type CatalogEntryView, type SignatureView, type VersionView } from './view-models.ts';

export function signatureBadge(signature: SignatureView): RawHtml {
  if (signature.trusted === undefined) return badge('cannot be checked: no trust bundle', 'warn');
  return signature.trusted
    ? html`${badge('signature trusted', 'ok')} <span class="muted">signed by ${signature.publisher}, key <code>${signature.keyId}</code></span>`
    : html`${badge('signer not trusted here', 'bad')} <span class="muted">key <code>${signature.keyId}</code> of ${signature.publisher} is not in this host's trust bundle; it cannot be installed</span>`;
}

/** What a version asks for, compactly: capabilities, egress hosts, limits. */
export function asksSummary(version: VersionView): RawHtml {
  const { manifest } = version;
  const capabilities = manifest.capabilities;
  const egress = manifest.egress ?? [];
  const limits = manifest.limits ?? {};
  return html`<dl class="asks">
  <dt>Capabilities</dt><dd>${capabilities.length === 0 ? html`<span class="muted">none</span>` : capabilities.map((capability) => html`<span class="chip" title="${capabilityTitle(capability)}">${capability}</span> `)}</dd>
  <dt>Network access</dt><dd>${egress.length === 0 ? html`<span class="muted">none</span>` : egress.map((host) => html`<span class="chip">${host}</span> `)}</dd>
  <dt>Limits</dt><dd>${limits.memoryMb ? `${limits.memoryMb} MB memory` : 'host default memory'}, ${limits.timeoutMs ? `${limits.timeoutMs} ms per call` : 'host default time per call'}</dd>
</dl>`;
}

export function catalogListPage(viewer: ConsoleViewer, entries: CatalogEntryView[], notice?: string): string {
  const main = html`<h1>Catalog</h1>
<p class="muted">Extensions published to this host. Open one to see what each version asks for before you install it.</p>
${entries.length === 0
  ? html`<div class="empty" id="catalog-empty"><p>Nothing is published to this host yet.</p><p class="muted">Developers publish signed bundles with <code>alga-ext publish BUNDLE --registry URL --token TOKEN</code>; they appear here.</p></div>`
  : html`<ul class="cards" id="catalog">
  ${entries.map(
    (entry) => html`<li class="card" data-extension-id="${entry.id}">
    <h2><a href="${consoleHref(viewer, catalogPath(entry.id))}">${entry.name}</a></h2>
    <p class="muted"><code>${entry.id}</code> · by ${entry.publisher} · latest ${entry.latest.version}${entry.versions.length > 1 ? ` · ${entry.versions.length} versions` : ''}</p>
    ${entry.description ? html`<p>${entry.description}</p>` : ''}
    <p>${signatureBadge(entry.latest.signature)}</p>
    ${asksSummary(entry.latest)}
    <p class="card-actions">${entry.installed
      ? html`${badge(`installed ${entry.installed.version}${entry.installed.enabled ? '' : ' (disabled)'}`, 'ok')} <a href="${consoleHref(viewer, extensionPath(entry.id))}">Manage</a>`
      : viewer.canManage
        ? html`<a class="button primary" href="${consoleHref(viewer, catalogPath(entry.id, '/install'), { version: entry.latest.version })}">Install…</a>`
        : html`<span class="muted">Not installed</span>`}</p>
  </li>`,
  )}
</ul>`}`;
  return consolePage({ viewer, section: 'catalog', title: 'Catalog', notice, main });
}

export function catalogDetailPage(viewer: ConsoleViewer, entry: CatalogEntryView): string {
  const installed = entry.installed;
  const main = html`<h1>${entry.name}</h1>
<p class="muted"><code>${entry.id}</code> · by ${entry.publisher}</p>
${entry.description ? html`<p>${entry.description}</p>` : ''}
${installed
  ? html`<p>${badge(`installed ${installed.version}`, 'ok')} <a href="${consoleHref(viewer, extensionPath(entry.id))}">Manage the install</a></p>`
  : ''}
<h2>Versions</h2>
<table class="data" id="versions">
  <caption class="visually-hidden">Published versions of ${entry.name}, newest first</caption>
  <thead><tr><th scope="col">Version</th><th scope="col">Published</th><th scope="col">Signature</th><th scope="col">Source</th><th scope="col">Asks for</th><th scope="col">Size</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
  <tbody>
  ${entry.versions.map((version) => html`<tr data-version="${version.version}">
    <th scope="row">${version.version}<br>${shortHash(version.contentHash)}</th>
    <td>${formatDate(version.publishedAt)}</td>
    <td>${signatureBadge(version.signature)}</td>
    <td class="source">${sourceNote(version)}</td>
    <td>${asksSummary(version)}</td>
    <td>${(version.size / 1048576).toFixed(1)} MB</td>
    <td>${versionAction(viewer, entry, version)}</td>
  </tr>`)}
  </tbody>
</table>`;
  return consolePage({
    viewer,
    section: 'catalog',
    title: entry.name,
    crumbs: [{ label: 'Catalog', href: consoleHref(viewer, '/console/catalog') }, { label: entry.name }],
    main,
  });
}

/** What a tenant admin can learn of how a version was built, and whether this host rebuilt it. */
function sourceNote(version: VersionView): RawHtml {
  const check = version.rebuildCheck;
  if (check?.result === 'reproducible') return html`${badge('reproducible: checked', 'ok')} <span class="muted">rebuilt byte-identical from its source</span>`;
  if (check?.result === 'different') return html`${badge('rebuild differs', 'warn')} <span class="muted">${check.detail ?? ''}</span>`;
  if (check?.result === 'failed') return html`source attached <span class="muted">(the rebuild did not finish: ${check.detail ?? 'no reason given'})</span>`;
  if (version.reproducibility === 'source-attached') return html`source attached <span class="muted">(check: <code>alga-ext verify-build</code>)</span>`;
  if (version.reproducibility === 'provenance') return html`build recorded <span class="muted">(source not attached)</span>`;
  return html`<span class="muted">not recorded</span>`;
}

function versionAction(viewer: ConsoleViewer, entry: CatalogEntryView, version: VersionView): RawHtml {
  if (!viewer.canManage) return html``;
  if (version.signature.trusted === false) return html`<span class="muted">cannot be installed</span>`;
  if (!entry.installed) return html`<a class="button" href="${consoleHref(viewer, catalogPath(entry.id, '/install'), { version: version.version })}">Install…</a>`;
  if (entry.installed.version === version.version) return html`<span class="muted">installed</span>`;
  return html`<a class="button" href="${consoleHref(viewer, extensionPath(entry.id, '/version'), { version: version.version })}">Move to this version…</a>`;
}

export interface InstallFormDraft {
  grants: string[];
  egress: string[];
  egressHosts: string[];
  config: Record<string, unknown>;
}

/** The consent page for a new install: what the version asks for, nothing ticked, then install. */
export function installConsentPage(viewer: ConsoleViewer, version: VersionView, draft: InstallFormDraft, error?: string): string {
  const { manifest } = version;
  const name = displayName(manifest);
  const capabilityChoices: PermissionChoice[] = manifest.capabilities.map((capability) => ({ value: capability, checked: draft.grants.includes(capability) }));
  const egressChoices: PermissionChoice[] = (manifest.egress ?? []).map((entry) => ({ value: entry, checked: draft.egress.includes(entry) }));
  const secrets = manifest.secrets ?? [];
  const action = consoleHref(viewer, catalogPath(version.extensionId, '/install'));
  const main = html`<h1>Install ${name} ${version.version}</h1>
<p>${signatureBadge(version.signature)}</p>
<form method="post" action="${action}" class="stack" id="install-form">
  <input type="hidden" name="version" value="${version.version}">
  <h2>Permissions</h2>
  <p>This is everything this version asks for. Only what you tick is granted; you can change it later on the install's page.</p>
  ${capabilityFields(capabilityChoices, 'install')}
  ${egressFields(egressChoices, draft.egressHosts, 'install')}
  <p id="install-limits"><strong>Limits:</strong> ${manifest.limits?.memoryMb ? `up to ${manifest.limits.memoryMb} MB of memory` : "the host's default memory"} and ${manifest.limits?.timeoutMs ? `${manifest.limits.timeoutMs} ms per call` : "the host's default time per call"}, within this host's ceilings. You can change them on the install's page.</p>
  <h2>Settings</h2>
  ${renderConfigFields(manifest.configSchema, draft.config, 'install')}
  ${secrets.length > 0
    ? html`<fieldset class="secrets"><legend>Secrets</legend>
    <p class="hint">Sealed for the runner when you save; nobody can read them back here, not even you.</p>
    ${secrets.map((secret) => html`<div class="field"><label for="install-secret-${secret.name}"><code>${secret.name}</code></label>${secret.description ? html`<p class="hint" id="install-secret-${secret.name}-hint">${secret.description}</p>` : ''}<input type="password" id="install-secret-${secret.name}" name="secret.${secret.name}" autocomplete="off"${secret.description ? html` aria-describedby="install-secret-${secret.name}-hint"` : ''}></div>`)}
  </fieldset>`
    : ''}
  <div class="actions"><button class="primary" type="submit">Install ${version.version}</button> <a href="${consoleHref(viewer, catalogPath(version.extensionId))}">Cancel</a></div>
</form>`;
  return consolePage({
    viewer,
    section: 'catalog',
    title: `Install ${name}`,
    crumbs: [{ label: 'Catalog', href: consoleHref(viewer, '/console/catalog') }, { label: name, href: consoleHref(viewer, catalogPath(version.extensionId)) }, { label: 'Install' }],
    error,
    main,
  });
}
