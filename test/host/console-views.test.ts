import { describe, expect, it } from 'vitest';
import type { Manifest } from '../../lib/bundle/index.ts';
import { isAlgaError } from '../../lib/errors/index.ts';
import { consentPlan } from '../../host/plugins/extensions/installs/consent.ts';
import { catalogDetailPage, catalogListPage, installConsentPage } from '../../host/web/console/catalog-pages.ts';
import type { ConsoleViewer } from '../../host/web/console/chrome.ts';
import { configFromForm } from '../../host/web/console/config-form.ts';
import type { VersionView } from '../../host/web/console/view-models.ts';

/** The console's pure parts: what publishers write is only ever text on the page; forms read back as typed; the consent plan. */
const hostile = '<img src=x onerror=alert(1)>';
const manifest: Manifest = {
  name: 'com.example.hostile',
  publisher: 'example',
  version: '1.0.0',
  runtime: 'wasm-js@1',
  displayName: hostile,
  description: `${hostile} description`,
  capabilities: ['alga.http'],
  egress: ['*.example.com'],
  secrets: [{ name: 'api_key', description: `${hostile} secret` }],
  configSchema: {
    type: 'object',
    required: ['mode'],
    properties: {
      mode: { type: 'string', enum: ['fast', `${hostile}`], description: `${hostile} mode` },
      retries: { type: 'integer' },
      verbose: { type: 'boolean' },
      extra: { type: 'object', title: `${hostile} title` },
    },
  },
};
const version: VersionView = { extensionId: manifest.name, version: '1.0.0', contentHash: `sha256:${'a'.repeat(64)}`, publishedAt: '2026-01-01T00:00:00.000Z', size: 1024, manifest, signature: { trusted: true, publisher: 'example', keyId: 'ed25519:abc' }, reproducibility: 'source-attached' };
const viewer: ConsoleViewer = { user: { name: 'alice', tenantId: 'acme' }, tenantId: 'acme', tenantName: 'Acme', canManage: true, canDebug: true };

describe('console views', () => {
  it('says per version what the bundle records of its build: source attached to check, a recorded build, or nothing', () => {
    const older: VersionView = { ...version, version: '0.9.0', reproducibility: 'none' };
    const recorded: VersionView = { ...version, version: '0.9.5', reproducibility: 'provenance' };
    const page = catalogDetailPage(viewer, { id: manifest.name, name: 'Thing', publisher: 'example', latest: version, versions: [version, recorded, older] });
    const row = (v: string) => page.slice(page.indexOf(`data-version="${v}"`), page.indexOf('</tr>', page.indexOf(`data-version="${v}"`)));
    expect(row('1.0.0')).toContain('source attached');
    expect(row('1.0.0')).toContain('alga-ext verify-build');
    expect(row('0.9.5')).toContain('build recorded');
    expect(row('0.9.0')).toContain('not recorded');
  });

  it('renders whatever a manifest says as text, never as markup', () => {
    const pages = [
      catalogListPage(viewer, [{ id: manifest.name, name: hostile, publisher: 'example', description: manifest.description, latest: version, versions: [version] }]),
      installConsentPage(viewer, version, { grants: [], egress: [], egressHosts: [], config: { mode: hostile } }, `${hostile} error`),
    ];
    for (const page of pages) {
      expect(page).not.toContain('<img');
      expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;');
    }
  });

  it('ticks nothing on the install consent page', () => {
    const page = installConsentPage(viewer, version, { grants: [], egress: [], egressHosts: [], config: {} });
    expect(page).toContain('name="grants" value="alga.http"');
    expect(page).toContain('name="egress" value="*.example.com"');
    expect(page).not.toMatch(/name="(grants|egress)"[^>]*checked/);
  });

  it('reads a settings form back with the schema\'s types, and says which field is not JSON', () => {
    const schema = manifest.configSchema;
    expect(configFromForm(schema, { 'config.mode': 'fast', 'config.retries': '3', 'config.verbose': 'true', 'config.extra': '{"a":1}' })).toEqual({ mode: 'fast', retries: 3, verbose: true, extra: { a: 1 } });
    expect(configFromForm(schema, { 'config.mode': '', 'config.retries': '' })).toEqual({ verbose: false });
    expect(configFromForm(schema, { 'config.retries': 'three' })).toMatchObject({ retries: 'three' }); // the schema then refuses it, by name
    let refused: unknown;
    try {
      configFromForm(schema, { 'config.extra': '{not json' });
    } catch (error) {
      refused = error;
    }
    expect(isAlgaError(refused, 'E_INSTALL_CONFIG_INVALID') && refused.message).toContain('title is not valid JSON');
    expect(configFromForm(undefined, { config: '{"x":true}' })).toEqual({ x: true });
  });
});

describe('consent plan', () => {
  const base = { name: 'x.y.z', publisher: 'p', version: '1.0.0', runtime: 'wasm-js@1' as const };
  it('counts a host under a wildcard the installed version asked for as decided, but not a new wildcard', () => {
    const before: Manifest = { ...base, capabilities: ['alga.http'], egress: ['*.example.com'] };
    const after: Manifest = { ...base, version: '2.0.0', capabilities: ['alga.http', 'alga.log'], egress: ['api.example.com', '*.example.org', '*.example.com'] };
    const plan = consentPlan(after, { manifest: before, grants: ['alga.http'], egress: ['cdn.example.com'] });
    expect(plan.undecided).toEqual({ capabilities: ['alga.log'], egress: ['*.example.org'] });
    expect(plan.kept).toEqual({ capabilities: ['alga.http'], egress: ['cdn.example.com'] });
    expect(plan.dropped).toEqual({ capabilities: [], egress: [] });
  });

  it('asks about everything on a new install', () => {
    const plan = consentPlan({ ...base, capabilities: ['alga.storage'], egress: ['a.example.com'] });
    expect(plan.undecided).toEqual({ capabilities: ['alga.storage'], egress: ['a.example.com'] });
  });
});
