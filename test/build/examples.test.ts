import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { componentImports, packProjectDir, unpackBundle } from '../../lib/bundle/index.ts';
import { addSignature, generateSigningKey, parseTrustBundle, signContentHash, verifyBundle } from '../../lib/signing/index.ts';
import { exampleDir } from '../support/projects.ts';
import { hostError, loadGuest, type Guest } from './guest-harness.ts';

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const bodyJson = (response: { body: Uint8Array }) => JSON.parse(decoder.decode(response.body));
const component = (name: string) => join(exampleDir(name), 'dist', 'component.wasm');

describe('examples build, pack and verify', () => {
  const key = generateSigningKey();
  const trust = parseTrustBundle({ version: 1, keys: [{ keyId: key.keyId, publisher: 'example', publicKey: key.publicKey }] });

  for (const [name, expectedImports, uiFiles] of [
    ['hello', [], []],
    ['kv-counter', ['alga:extension/storage@0.1.0'], ['index.html', 'main.js']],
    ['egress', ['alga:extension/http@0.1.0', 'alga:extension/secrets@0.1.0'], []],
  ] as const) {
    it(`${name}: packs with its UI, signs and verifies, importing only what it uses`, () => {
      const packed = packProjectDir(exampleDir(name));
      expect(packed.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
      const signatures = addSignature(undefined, packed.hash, signContentHash(packed.hash, key));
      const verified = verifyBundle(packed.bytes, signatures, trust, { expectedHash: packed.hash });
      expect(verified.manifest.name).toBe(`com.example.${name}`);
      expect(verified.signer).toEqual({ keyId: key.keyId, publisher: 'example' });
      expect([...verified.ui.keys()].sort()).toEqual([...uiFiles]);
      const hostImports = componentImports(verified.component).filter((entry) => entry.startsWith('alga:') && !entry.startsWith('alga:extension/types'));
      expect(hostImports.sort()).toEqual([...expectedImports]);
    });
  }

  it('kv-counter: the UI script is bundled for the browser with the iframe SDK inside', () => {
    const packed = packProjectDir(exampleDir('kv-counter'));
    const script = decoder.decode(unpackBundle(packed.bytes).ui.get('main.js')!);
    expect(script).not.toMatch(/from\s+["']@alga\/extension-iframe-sdk["']/);
    expect(script).toContain('apiproxy');
    expect(packed.manifest.assets?.['ui/main.js']).toMatch(/^sha256:/);
  });
});

describe('examples answer requests (real components, host imports written here)', () => {
  let hello: Guest;
  let counter: Guest;
  let egress: Guest;
  const stores = new Map<string, Map<string, Uint8Array>>();
  let tenant = 'tenant-a';
  const fetched: Array<{ url: string; headers: Array<[string, string]> }> = [];
  let installSecrets: Record<string, string> = {};

  beforeAll(async () => {
    hello = await loadGuest(component('hello'), {});
    const store = () => stores.get(tenant) ?? stores.set(tenant, new Map()).get(tenant)!;
    counter = await loadGuest(component('kv-counter'), {
      'alga:extension/storage': {
        get: (key: string) => store().get(key),
        put: (key: string, value: Uint8Array) => void store().set(key, value),
        delete: (key: string) => store().delete(key),
        listByPrefix: () => ({ entries: [] }),
        getVersioned: (key: string) => (store().has(key) ? { value: store().get(key), version: 1n } : undefined),
        increment(key: string, by: bigint) {
          const sum = BigInt(decoder.decode(store().get(key) ?? encoder.encode('0'))) + by;
          store().set(key, encoder.encode(String(sum)));
          return sum;
        },
        batch: () => hostError('unavailable', 'Batches are not written for this test.'),
      },
    });
    egress = await loadGuest(component('egress'), {
      'alga:extension/http': {
        fetch(request: { url: string; headers: Array<[string, string]> }) {
          if (!request.url.startsWith('https://api.example.com/')) hostError('denied', `Egress to ${new URL(request.url).host} is not allowed.`);
          fetched.push(request);
          return { status: 200, headers: [['content-type', 'application/json']], body: encoder.encode('{"weather":"sunny"}') };
        },
      },
      'alga:extension/secrets': { get: (name: string) => installSecrets[name] },
    });
  });

  afterAll(() => {
    for (const guest of [hello, counter, egress]) guest?.close();
  });

  it('hello greets the configured name, or the world', () => {
    expect(bodyJson(hello.handle({ method: 'GET', path: '/hello' }, { greeting_name: 'Ada' }))).toEqual({ message: 'Hello, Ada', tenant: 'tenant-1' });
    expect(bodyJson(hello.handle({ method: 'GET', path: '/hello' }))).toEqual({ message: 'Hello, world', tenant: 'tenant-1' });
    expect(hello.handle({ method: 'GET', path: '/nope' }).status).toBe(404);
  });

  it('kv-counter counts per store and answers 405 for the wrong method', () => {
    tenant = 'tenant-a';
    expect(bodyJson(counter.handle({ method: 'GET', path: '/count' }))).toEqual({ count: 0, version: null });
    counter.handle({ method: 'POST', path: '/increment' });
    expect(bodyJson(counter.handle({ method: 'POST', path: '/increment' }))).toEqual({ count: 2 });
    expect(bodyJson(counter.handle({ method: 'GET', path: '/count' }))).toEqual({ count: 2, version: 1 });
    tenant = 'tenant-b';
    expect(bodyJson(counter.handle({ method: 'GET', path: '/count' }))).toEqual({ count: 0, version: null });
    expect(counter.handle({ method: 'GET', path: '/increment' }).status).toBe(405);
  });

  it('egress sends the secret as x-api-key to the configured URL', () => {
    installSecrets = { api_key: 'k-123' };
    const response = egress.handle({ method: 'GET', path: '/fetch' }, { url: 'https://api.example.com/weather' });
    expect(response.status).toBe(200);
    expect(bodyJson(response)).toEqual({ url: 'https://api.example.com/weather', status: 200, body: '{"weather":"sunny"}' });
    expect(fetched.at(-1)!.headers).toContainEqual(['x-api-key', 'k-123']);
  });

  it('egress answers 403 when the host denies the URL, 400 without a configured URL, 500 without the secret', () => {
    installSecrets = { api_key: 'k-123' };
    const denied = egress.handle({ method: 'GET', path: '/fetch' }, { url: 'https://evil.example.org/' });
    expect(denied.status).toBe(403);
    expect(bodyJson(denied).error.message).toContain('not allowed');
    expect(egress.handle({ method: 'GET', path: '/fetch' }).status).toBe(400);
    installSecrets = {};
    const noSecret = egress.handle({ method: 'GET', path: '/fetch' }, { url: 'https://api.example.com/weather' });
    expect(noSecret.status).toBe(500);
    expect(bodyJson(noSecret).error.message).toBe('The install has no "api_key" secret.');
  });
});
