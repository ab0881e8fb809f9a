import formbody from '@fastify/formbody';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AlgaError, isAlgaError } from '../../../../lib/errors/index.ts';
import type { Principal } from '../../../core/auth/index.ts';
import type { HostContext } from '../../../core/plugin.ts';
import { catalogDetailPage, catalogListPage, installConsentPage, type InstallFormDraft } from '../../../web/console/catalog-pages.ts';
import { consoleHref, extensionPath, messagePage, type ConsoleViewer } from '../../../web/console/chrome.ts';
import { firstValue } from '../../../web/console/config-form.ts';
import { debugStreamPage } from '../../../web/console/debug-page.ts';
import { executionsPage } from '../../../web/console/execution-table.ts';
import { installPage, installedListPage, tenantPickerPage, uninstallPage, versionChangePage, type InstallPageError, type InstallSection } from '../../../web/console/install-pages.ts';
import { displayName, type InstallView } from '../../../web/console/view-models.ts';
import type { SetupApi } from '../../setup/index.ts';
import type { ExtensionsApi } from '../api.ts';
import type { ExecutionRecord } from '../gateway/execution-log.ts';
import type { InstallRecord } from '../installs/install-store.ts';
import type { InstallInput } from '../installs/installs.ts';
import { configFromPostedForm, formOf, limitsFromForm, permissionsFromForm, secretsFromInstallForm, secretUpdatesFromForm, typedLimits, type FormBody } from './forms.ts';
import { setConsoleHeaders } from './headers.ts';
import { catalogEntry, installView, versionView } from './models.ts';
import { consoleViewer } from './viewer.ts';

export interface ConsoleOptions {
  host: Pick<HostContext, 'auth' | 'config' | 'plugins'>;
  extensions: ExtensionsApi;
}

const installSections: readonly InstallSection[] = ['status', 'permissions', 'config', 'secrets', 'limits'];
const executionPageSize = 50;
const extensionIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The tenant console: `/` (to setup, sign-in or the console), `/console` (installed extensions),
 * `/console/catalog` (published extensions, what each version asks for, install with consent),
 * `/console/installs/{id}` (status, version and upgrade consent, permissions, settings, secrets,
 * limits, execution log, uninstall) and `/ext-debug/{id}` (the live debug stream).
 * Server-rendered pages with plain forms; every change goes through the install actions the API
 * uses, so the rules (consent, validation, audit) are the same whichever door is used.
 */
export async function registerConsole(routes: FastifyInstance, options: ConsoleOptions): Promise<void> {
  await routes.register(async (pages) => consolePages(pages, options));
}

async function consolePages(pages: FastifyInstance, { host, extensions }: ConsoleOptions): Promise<void> {
  const { auth } = host;
  const { registry, rebuildChecks, installs, installService, installActions: actions, executions, trust } = extensions;
  if (!pages.hasContentTypeParser('application/x-www-form-urlencoded')) await pages.register(formbody);

  const send = (reply: FastifyReply, status: number, body: string) => setConsoleHeaders(reply.code(status)).send(body);
  const redirect = (reply: FastifyReply, location: string) => reply.header('cache-control', 'no-store').redirect(location, 303);

  type Handler = (context: { request: FastifyRequest; reply: FastifyReply; viewer: ConsoleViewer; principal: Principal }) => Promise<unknown>;

  /** Resolves who is looking (signed out → sign-in; an operator without a tenant → the tenant list), then runs the page. */
  const withViewer = (handler: Handler, needs: 'read' | 'manage' | 'debug' = 'read') => async (request: FastifyRequest, reply: FastifyReply) => {
    const lookup = consoleViewer(request, auth);
    if (lookup.kind === 'signed-out') return redirect(reply, `/login?next=${encodeURIComponent(request.method === 'GET' || request.method === 'HEAD' ? request.url : '/console')}`);
    if (lookup.kind === 'choose-tenant') return redirect(reply, '/console/tenants');
    if (lookup.kind === 'not-allowed') {
      const viewer: ConsoleViewer = { user: { name: lookup.principal.name, tenantId: lookup.principal.tenantId ?? '(no tenant)' }, tenantId: lookup.principal.tenantId ?? '', tenantName: '', canManage: false, canDebug: false };
      return send(reply, 403, messagePage(viewer, 'Not allowed', 'This account may not see the extensions of a tenant.'));
    }
    const { viewer, principal } = lookup;
    if (needs === 'manage' && !viewer.canManage) {
      return send(reply, 403, messagePage(viewer, 'Not allowed', `Changing installs needs a tenant admin of ${viewer.tenantName} (the "installs:write" scope).`));
    }
    if (needs === 'debug' && !viewer.canDebug) {
      return send(reply, 403, messagePage(viewer, 'Not allowed', 'Debugging needs the "ext:debug" scope: a tenant admin of this tenant has it.'));
    }
    try {
      return await handler({ request, reply, viewer, principal });
    } catch (error) {
      // A page answers with a page: a catalog error (say, a version missing from the registry) in words.
      if (!isAlgaError(error) || reply.sent) throw error;
      return send(reply, error.status, messagePage(viewer, error.status === 404 ? 'Not found' : 'That did not work', error.message));
    }
  };

  const paramsOf = (request: FastifyRequest) => request.params as { extensionId: string };
  const queryOf = (request: FastifyRequest) => request.query as Record<string, string | undefined>;

  const notInstalled = (reply: FastifyReply, viewer: ConsoleViewer, extensionId: string, what = 'to manage') =>
    send(reply, 404, messagePage(viewer, 'Not installed', `"${extensionId}" is not installed for ${viewer.tenantName}, so there is nothing ${what} here.`, { label: 'Browse the catalog', href: '/console/catalog' }));

  const viewOf = (install: InstallRecord): InstallView => {
    const view = installView(install, registry, trust);
    if (!view) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${install.extensionId}@${install.version} is installed but no longer in the registry.`);
    return view;
  };

  const recentCalls = (tenantId: string, extensionId: string, limit = 10) => executions.list(tenantId, extensionId, { limit });
  const ceilings = host.config.ceilings;

  const renderInstallPage = (viewer: ConsoleViewer, install: InstallRecord, extra: { notice?: string; error?: InstallPageError } = {}) => {
    const view = viewOf(install);
    const version = registry.getVersion(install.extensionId, install.version);
    return installPage(viewer, view, { recent: recentCalls(viewer.tenantId, install.extensionId), ceilings, signature: version ? versionView(version, trust).signature : undefined, ...extra });
  };

  /** The installed version's manifest (a change is checked against it). */
  const installedManifest = (install: InstallRecord) => {
    const version = registry.getVersion(install.extensionId, install.version);
    if (!version) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${install.extensionId}@${install.version}.`);
    return version.manifest;
  };

  const checkFresh = (form: FormBody, install: InstallRecord) => {
    const seen = firstValue(form.updatedAt);
    if (seen !== '' && seen !== install.updatedAt) throw new AlgaError('E_INSTALL_CHANGED', 'Someone changed it after this page was opened; the page now shows the current values.');
  };

  // `/`: setup while the host is unclaimed, the console once signed in, sign-in otherwise.
  pages.get('/', async (request, reply) => {
    const setup = host.plugins.get<SetupApi>('setup');
    if (setup && !setup.isClaimed()) return redirect(reply, '/setup');
    const principal = auth.principalOf(request);
    if (principal?.kind === 'user') return redirect(reply, queryOf(request).notice === 'claimed' ? '/console?notice=claimed' : '/console');
    return redirect(reply, '/login');
  });

  pages.get('/console/tenants', async (request, reply) => {
    const lookup = consoleViewer(request, auth);
    if (lookup.kind === 'signed-out') return redirect(reply, `/login?next=${encodeURIComponent('/console')}`);
    if (lookup.kind === 'ok' && !lookup.viewer.namedTenant) return redirect(reply, '/console');
    if (lookup.kind !== 'choose-tenant' && lookup.kind !== 'ok') return redirect(reply, '/console');
    const base = lookup.kind === 'ok' ? lookup.viewer : lookup.base;
    return send(reply, 200, tenantPickerPage(base, auth.listTenants().map((tenant) => ({ id: tenant.id, name: tenant.name }))));
  });

  pages.get('/console', withViewer(async ({ request, reply, viewer }) => {
    const query = queryOf(request);
    const notice =
      query.notice === 'claimed'
        ? `This host is claimed and you are signed in as its admin${viewer.canManage ? '. Install your first extension from the catalog.' : '.'}`
        : query.notice === 'uninstalled' && query.extension && extensionIdPattern.test(query.extension)
          ? `Uninstalled ${query.extension}.`
          : query.notice === 'uninstalled-purged' && query.extension && extensionIdPattern.test(query.extension) && /^\d{1,9}$/.test(query.keys ?? '')
            ? `Uninstalled ${query.extension} and deleted the data it stored (${query.keys} ${query.keys === '1' ? 'key' : 'keys'}).`
            : undefined;
    const rows = installs.listForTenant(viewer.tenantId).flatMap((install) => {
      const view = installView(install, registry, trust);
      if (!view) return [];
      const newest = view.newer[0];
      const lastError = recentCalls(viewer.tenantId, install.extensionId, 20).find((row) => row.error);
      const update = newest ? { version: newest.version, asksMore: hasUndecided(installService.consentFor(viewer.tenantId, install.extensionId, newest.version).plan) } : undefined;
      return [{ install: view, ...(update ? { update } : {}), ...(lastError ? { lastError } : {}) }];
    });
    return send(reply, 200, installedListPage(viewer, rows, notice));
  }));

  pages.get('/console/catalog', withViewer(async ({ reply, viewer }) => {
    const entries = registry
      .listExtensions()
      .flatMap((extension) => catalogEntry(extension, registry, trust, installs.get(viewer.tenantId, extension.id)) ?? [])
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
    return send(reply, 200, catalogListPage(viewer, entries));
  }));

  pages.get('/console/catalog/:extensionId', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    const extension = registry.getExtension(extensionId);
    const entry = extension && catalogEntry(extension, registry, trust, installs.get(viewer.tenantId, extensionId));
    if (!entry) return send(reply, 404, messagePage(viewer, 'Not in the catalog', `No extension "${extensionId}" is published to this host.`, { label: 'Back to the catalog', href: '/console/catalog' }));
    const versions = entry.versions.map((version) => ({ ...version, rebuildCheck: rebuildChecks.get(version.contentHash) }));
    return send(reply, 200, catalogDetailPage(viewer, { ...entry, versions }));
  }));

  const installTarget = (extensionId: string, version: string | undefined) => {
    const extension = registry.getExtension(extensionId);
    const record = extension && registry.getVersion(extensionId, version || extension.latestVersion);
    return record ? versionView(record, trust) : undefined;
  };

  pages.get('/console/catalog/:extensionId/install', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    if (installs.get(viewer.tenantId, extensionId)) return redirect(reply, consoleHref(viewer, extensionPath(extensionId)));
    const target = installTarget(extensionId, queryOf(request).version);
    if (!target) return send(reply, 404, messagePage(viewer, 'Not in the catalog', `No published version "${queryOf(request).version ?? 'latest'}" of "${extensionId}".`, { label: 'Back to the catalog', href: '/console/catalog' }));
    return send(reply, 200, installConsentPage(viewer, target, { grants: [], egress: [], egressHosts: [], config: {} }));
  }, 'manage'));

  pages.post('/console/catalog/:extensionId/install', withViewer(async ({ request, reply, viewer, principal }) => {
    const { extensionId } = paramsOf(request);
    const form = formOf(request.body);
    const target = installTarget(extensionId, firstValue(form.version) || undefined);
    if (!target) return send(reply, 404, messagePage(viewer, 'Not in the catalog', `No published version "${firstValue(form.version)}" of "${extensionId}".`, { label: 'Back to the catalog', href: '/console/catalog' }));
    const permissions = permissionsFromForm(form);
    const draft: InstallFormDraft = { grants: permissions.grants, egress: permissions.egress.filter((host) => !permissions.egressHosts.includes(host)), egressHosts: permissions.egressHosts, config: {} };
    try {
      draft.config = configFromPostedForm(target.manifest, form);
      const secrets = secretsFromInstallForm(form);
      const input: InstallInput = { version: target.version, grants: permissions.grants, egress: permissions.egress, config: draft.config, ...(Object.keys(secrets).length > 0 ? { secrets } : {}) };
      await actions.create(principal, viewer.tenantId, extensionId, input);
      return redirect(reply, consoleHref(viewer, extensionPath(extensionId), { notice: 'installed' }));
    } catch (error) {
      if (!isAlgaError(error)) throw error;
      if (error.code === 'E_INSTALL_EXISTS') return redirect(reply, consoleHref(viewer, extensionPath(extensionId)));
      return send(reply, error.status, installConsentPage(viewer, target, draft, error.message));
    }
  }, 'manage'));

  pages.get('/console/installs/:extensionId', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId);
    const name = displayName(installedManifest(install));
    const notices: Record<string, string> = {
      installed: `${name} ${install.version} is installed${install.grants.length > 0 ? ` with ${install.grants.join(', ')} granted` : ''}.`,
      version: `${name} now runs version ${install.version}.`,
      status: install.enabled ? `${name} is enabled.` : `${name} is disabled: its calls answer 404 until you enable it.`,
      permissions: 'Permissions saved.',
      config: 'Settings saved.',
      secrets: 'Secrets saved.',
      'secrets-unchanged': 'No secret was changed.',
      limits: 'Limits saved.',
    };
    const noticeKey = queryOf(request).notice;
    return send(reply, 200, renderInstallPage(viewer, install, { notice: noticeKey ? notices[noticeKey] : undefined }));
  }));

  pages.post('/console/installs/:extensionId/:section', withViewer(async ({ request, reply, viewer, principal }) => {
    const { extensionId, section } = request.params as { extensionId: string; section: string };
    if (!(installSections as readonly string[]).includes(section)) throw new AlgaError('E_NOT_FOUND', `POST ${request.url.split('?')[0]}`);
    const current = installs.get(viewer.tenantId, extensionId);
    if (!current) return notInstalled(reply, viewer, extensionId);
    const form = formOf(request.body);
    const sectionName = section as InstallSection;
    let draft: InstallPageError['draft'];
    let notice: string = sectionName;
    try {
      checkFresh(form, current);
      const manifest = installedManifest(current);
      let input: InstallInput;
      if (sectionName === 'status') {
        input = { enabled: firstValue(form.enabled) === 'true' };
      } else if (sectionName === 'permissions') {
        const permissions = permissionsFromForm(form);
        draft = { grants: permissions.grants, egress: permissions.egress.filter((host) => !permissions.egressHosts.includes(host)), egressHosts: permissions.egressHosts };
        input = { grants: permissions.grants, egress: permissions.egress };
      } else if (sectionName === 'config') {
        input = { config: configFromPostedForm(manifest, form) };
      } else if (sectionName === 'secrets') {
        const updates = secretUpdatesFromForm(form);
        if (Object.keys(updates).length === 0) return redirect(reply, consoleHref(viewer, extensionPath(extensionId), { notice: 'secrets-unchanged' }));
        input = { secretUpdates: updates };
      } else {
        draft = { limits: typedLimits(form) };
        input = { limits: limitsFromForm(form) };
      }
      await actions.update(principal, viewer.tenantId, extensionId, input);
    } catch (error) {
      if (!isAlgaError(error)) throw error;
      const fresh = installs.get(viewer.tenantId, extensionId);
      if (!fresh) return notInstalled(reply, viewer, extensionId);
      const stale = error.code === 'E_INSTALL_CHANGED';
      return send(reply, error.status, renderInstallPage(viewer, fresh, { error: { section: sectionName, message: error.message, ...(stale ? {} : { draft }) } }));
    }
    return redirect(reply, consoleHref(viewer, extensionPath(extensionId), { notice }));
  }, 'manage'));

  pages.get('/console/installs/:extensionId/version', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId);
    const wanted = queryOf(request).version;
    const target = installTarget(extensionId, wanted);
    if (!target) return send(reply, 404, messagePage(viewer, 'No such version', `No published version "${wanted ?? 'latest'}" of "${extensionId}".`, { label: 'Back to the install', href: extensionPath(extensionId) }));
    if (target.version === install.version) return redirect(reply, consoleHref(viewer, extensionPath(extensionId)));
    const { plan } = installService.consentFor(viewer.tenantId, extensionId, target.version);
    return send(reply, 200, versionChangePage(viewer, viewOf(install), target, plan));
  }, 'manage'));

  pages.post('/console/installs/:extensionId/version', withViewer(async ({ request, reply, viewer, principal }) => {
    const { extensionId } = paramsOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId);
    const form = formOf(request.body);
    const target = installTarget(extensionId, firstValue(form.version) || undefined);
    if (!target) return send(reply, 404, messagePage(viewer, 'No such version', `No published version "${firstValue(form.version)}" of "${extensionId}".`, { label: 'Back to the install', href: extensionPath(extensionId) }));
    const permissions = permissionsFromForm(form);
    const draft = { grants: permissions.grants, egress: permissions.egress.filter((host) => !permissions.egressHosts.includes(host)), egressHosts: permissions.egressHosts, config: undefined as Record<string, unknown> | undefined };
    try {
      checkFresh(form, install);
      draft.config = configFromPostedForm(target.manifest, form);
      // The form shows everything the version asks for, so its ticks are the admin's whole answer.
      await actions.update(principal, viewer.tenantId, extensionId, { version: target.version, grants: permissions.grants, egress: permissions.egress, config: draft.config });
    } catch (error) {
      if (!isAlgaError(error)) throw error;
      const fresh = installs.get(viewer.tenantId, extensionId);
      if (!fresh) return notInstalled(reply, viewer, extensionId);
      const { plan } = installService.consentFor(viewer.tenantId, extensionId, target.version);
      const stale = error.code === 'E_INSTALL_CHANGED';
      return send(reply, error.status, versionChangePage(viewer, viewOf(fresh), target, plan, { error: error.message, ...(stale ? {} : { draft: { ...draft, config: draft.config } }) }));
    }
    return redirect(reply, consoleHref(viewer, extensionPath(extensionId), { notice: 'version' }));
  }, 'manage'));

  pages.get('/console/installs/:extensionId/uninstall', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId, 'to uninstall');
    return send(reply, 200, uninstallPage(viewer, viewOf(install)));
  }, 'manage'));

  pages.post('/console/installs/:extensionId/uninstall', withViewer(async ({ request, reply, viewer, principal }) => {
    const { extensionId } = paramsOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId, 'to uninstall');
    const form = formOf(request.body);
    const purge = firstValue(form.purge) === 'storage';
    let purgedKeys: number | undefined;
    try {
      checkFresh(form, install);
      if (purge) purgedKeys = (await actions.removeAndPurgeStorage(principal, viewer.tenantId, extensionId)).purgedKeys;
      else actions.remove(principal, viewer.tenantId, extensionId);
    } catch (error) {
      if (!isAlgaError(error)) throw error;
      const kept = installs.get(viewer.tenantId, extensionId);
      // Removed, but the runner did not confirm the deletion: say so rather than ask again.
      if (!kept) return send(reply, error.status, messagePage(viewer, 'Uninstalled; data not deleted', error.message));
      return send(reply, error.status, uninstallPage(viewer, viewOf(kept), error.message));
    }
    return redirect(reply, consoleHref(viewer, '/console', { notice: purge ? 'uninstalled-purged' : 'uninstalled', extension: extensionId, ...(purgedKeys !== undefined ? { keys: String(purgedKeys) } : {}) }));
  }, 'manage'));

  pages.get('/console/installs/:extensionId/executions', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    const query = queryOf(request);
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId, 'to show');
    const before = query.before && !Number.isNaN(Date.parse(query.before)) ? query.before : undefined;
    const onlyFailures = query.failures === '1';
    const failed = (row: ExecutionRecord) => row.status >= 400 || row.error !== undefined || row.denials !== undefined;
    const rows = executions
      .list(viewer.tenantId, extensionId, { limit: onlyFailures ? 1000 : executionPageSize, ...(before ? { before } : {}) })
      .filter((row) => !onlyFailures || failed(row))
      .slice(0, executionPageSize);
    return send(reply, 200, executionsPage(viewer, { extensionId, name: displayName(installedManifest(install)), rows, onlyFailures, pageSize: executionPageSize }));
  }));

  // The live debug page; the stream itself (/api/ext-debug/stream) checks access again.
  pages.get('/ext-debug/:extensionId', withViewer(async ({ request, reply, viewer }) => {
    const { extensionId } = paramsOf(request);
    if (!extensionIdPattern.test(extensionId)) return notInstalled(reply, viewer, extensionId, 'to debug');
    const install = installs.get(viewer.tenantId, extensionId);
    if (!install) return notInstalled(reply, viewer, extensionId, 'to debug');
    const name = displayName(installedManifest(install));
    return send(reply, 200, debugStreamPage(viewer, { extensionId, name, config: { extensionId, ...(viewer.namedTenant ? { tenantId: viewer.namedTenant } : {}) } }));
  }, 'debug'));
}

function hasUndecided(plan: { undecided: { capabilities: string[]; egress: string[] } }): boolean {
  return plan.undecided.capabilities.length + plan.undecided.egress.length > 0;
}
