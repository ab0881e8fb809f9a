import { describe, expect, it } from 'vitest';
import { refusalOf } from '../support/refusal.ts';
import { capabilityByInterface, capabilityForImport, parseManifest, validateManifest } from '../../lib/bundle/index.ts';
import { example } from './fixtures.ts';

const valid = {
  name: 'com.example.hello',
  publisher: 'example',
  version: '1.0.0',
  runtime: 'wasm-js@1',
  capabilities: ['alga.log'],
  api: { endpoints: [{ method: 'GET', path: '/hello' }, { method: 'GET', path: '/items/:id' }] },
  ui: { iframe: { entry: 'index.html' }, hooks: [{ type: 'menu', label: 'Counter', path: '/' }] },
  egress: ['api.example.com'],
  limits: { memoryMb: 64, timeoutMs: 5000 },
  configSchema: { type: 'object', properties: { greeting: { type: 'string' } } },
  assets: { 'ui/index.html': `sha256:${'a'.repeat(64)}` },
};

function problems(value: unknown): string {
  const { code, message } = refusalOf(() => validateManifest(value));
  expect(code).toBe('E_MANIFEST_INVALID');
  return message;
}

describe('manifest v2 schema', () => {
  it('accepts the documented example and every example project', () => {
    expect(validateManifest(valid).name).toBe('com.example.hello');
    for (const name of ['hello', 'kv-counter', 'egress'] as const) expect(validateManifest(example(name).manifest).publisher).toBe('example');
  });

  it('names a missing name', () => {
    const { name: _name, ...rest } = valid;
    expect(problems(rest)).toContain('/name: is required');
  });

  it('names a bad semver', () => {
    expect(problems({ ...valid, version: '1.0' })).toContain('/version: must be a semver');
    expect(problems({ ...valid, version: 'v1.0.0' })).toContain('/version: must be a semver');
  });

  it('names each bad field with its reason', () => {
    const message = problems({ ...valid, name: 'Hello World', runtime: 'python@3', capabilities: ['alga.root'], limits: { memoryMb: 0 }, extra: true });
    expect(message).toContain('/name: must be a reverse-DNS name');
    expect(message).toContain('/runtime: must be "wasm-js@1"');
    expect(message).toContain('/capabilities/0: must be one of');
    expect(message).toContain('/limits/memoryMb: must be >= 1');
    expect(message).toContain('/extra: is not a known field');
  });

  it('checks nested fields: endpoints, hooks, egress, assets, configSchema', () => {
    expect(problems({ ...valid, api: { endpoints: [{ method: 'FETCH', path: 'hello' }] } })).toMatch(/\/api\/endpoints\/0\/method: must be one of.*\/api\/endpoints\/0\/path: must be a path pattern such as/);
    expect(problems({ ...valid, ui: { iframe: { entry: '../secret.html' } } })).toContain('/ui/iframe/entry');
    expect(problems({ ...valid, egress: ['http://x.com/path'] })).toContain('/egress/0: must be a host name');
    expect(problems({ ...valid, assets: { 'ui/a.js': 'md5:abc' } })).toContain('/assets/ui~1a.js');
    expect(problems({ ...valid, configSchema: { type: 'no-such-type' } })).toContain('/configSchema: must be a valid JSON schema');
  });

  it('refuses endpoint and hook paths the gateway could not match', () => {
    for (const path of ['/a//b', '/files/*/x', '/items/:']) {
      expect(problems({ ...valid, api: { endpoints: [{ method: 'GET', path }] } })).toContain('/api/endpoints/0/path: must be a path pattern');
    }
    expect(problems({ ...valid, ui: { hooks: [{ type: 'menu', label: 'Home', path: '/x//y' }] } })).toContain('/ui/hooks/0/path: must be a path pattern');
  });

  it('refuses manifest.json that is not JSON', () => {
    expect(() => parseManifest('{"name": ')).toThrow(/E_MANIFEST_INVALID|not JSON/);
  });
});

describe('capability map', () => {
  it('maps every imported interface to its capability', () => {
    expect(capabilityByInterface).toEqual({
      storage: 'alga.storage',
      http: 'alga.http',
      secrets: 'alga.secrets',
      logging: 'alga.log',
      metrics: 'alga.metrics',
      'ui-proxy': 'alga.ui_proxy',
    });
    expect(capabilityForImport('alga:extension/ui-proxy@0.1.0')).toBe('alga.ui_proxy');
    expect(capabilityForImport('alga:extension/types@0.1.0')).toBeNull();
    expect(capabilityForImport('wasi:io/streams@0.2.3')).toBeUndefined();
  });
});
