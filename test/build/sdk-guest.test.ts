import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { buildExtension } from '../../lib/build/index.ts';
import { componentImports } from '../../lib/bundle/index.ts';
import { sharedBuildCache } from '../support/projects.ts';
import { hostError, loadGuest, memoryStorage, type Guest } from './guest-harness.ts';

/**
 * Every wrapper of @alga/extension-runtime, run inside a real component (the sdk-tour
 * fixture uses them all). The host imports are written here and record what they got.
 */
const fixture = fileURLToPath(new URL('./fixtures/sdk-tour/', import.meta.url));
const decoder = new TextDecoder();
const encoder = new TextEncoder();
const bodyJson = (response: { body: Uint8Array }) => JSON.parse(decoder.decode(response.body));

describe('the runtime SDK inside a component', () => {
  const outDir = mkdtempSync(join(tmpdir(), 'alga-sdk-tour-'));
  const store = new Map<string, Uint8Array>();
  const storage = memoryStorage(store);
  const calls: Array<[string, ...unknown[]]> = [];
  let denyStorage = '';
  let guest: Guest;
  let imports: string[];

  beforeAll(async () => {
    const result = await buildExtension({ projectDir: fixture, outDir, cacheDir: sharedBuildCache });
    imports = componentImports(new Uint8Array(await import('node:fs').then((fs) => fs.readFileSync(result.componentPath))));
    guest = await loadGuest(result.componentPath, {
      'alga:extension/storage': {
        ...storage,
        put(key: string, value: Uint8Array) {
          if (denyStorage) hostError(denyStorage as 'denied', `storage refused ${key}`);
          storage.put(key, value);
        },
        listByPrefix(prefix: string, cursor: string | undefined, limit: number) {
          calls.push(['list', prefix, cursor, limit]);
          return storage.listByPrefix(prefix, cursor, limit);
        },
      },
      'alga:extension/http': {
        fetch(request: unknown) {
          calls.push(['fetch', request]);
          return { status: 201, headers: [['Content-Type', 'application/json']], body: encoder.encode('{"ok":true}') };
        },
      },
      'alga:extension/secrets': { get: (name: string) => (name === 'token' ? 's3cret' : undefined) },
      'alga:extension/logging': { log: (...args: unknown[]) => void calls.push(['log', ...args]) },
      'alga:extension/metrics': {
        counter: (...args: unknown[]) => void calls.push(['counter', ...args]),
        histogram: (...args: unknown[]) => void calls.push(['histogram', ...args]),
      },
      'alga:extension/ui-proxy': {
        callRoute(route: string, payload: Uint8Array) {
          return encoder.encode(JSON.stringify({ route, got: JSON.parse(decoder.decode(payload)) }));
        },
      },
    });
  }, 240_000);

  afterAll(() => {
    guest?.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('imports exactly the host interfaces its code uses', () => {
    const host = imports.filter((name) => name.startsWith('alga:extension/') && !name.startsWith('alga:extension/types')).sort();
    expect(host).toEqual(['http', 'logging', 'metrics', 'secrets', 'storage', 'ui-proxy'].map((name) => `alga:extension/${name}@0.1.0`));
  });

  it('storage: put, get, delete and list across pages', () => {
    for (const key of ['a1', 'a2', 'a3', 'b1']) {
      expect(guest.handle({ method: 'PUT', path: `/kv/${key}`, body: encoder.encode(`value ${key}`) }).status).toBe(204);
    }
    expect(decoder.decode(guest.handle({ method: 'GET', path: '/kv/a2' }).body)).toBe('value a2');
    expect(guest.handle({ method: 'GET', path: '/kv/zz' }).status).toBe(404);
    expect(bodyJson(guest.handle({ method: 'GET', path: '/kv', query: 'prefix=a' })).entries).toEqual([
      ['a1', 'value a1'],
      ['a2', 'value a2'],
      ['a3', 'value a3'],
    ]);
    expect(calls.filter(([kind]) => kind === 'list')).toEqual([
      ['list', 'a', undefined, 2],
      ['list', 'a', 'a3', 2],
    ]);
    expect(bodyJson(guest.handle({ method: 'DELETE', path: '/kv/a1' }))).toEqual({ existed: true });
    expect(bodyJson(guest.handle({ method: 'DELETE', path: '/kv/a1' }))).toEqual({ existed: false });
  });

  it('http: sends method, headers, body and timeout; reads status, lower-cased headers and JSON', () => {
    const response = guest.handle({ method: 'POST', path: '/fetch', body: encoder.encode(JSON.stringify({ url: 'https://api.example.com/x', method: 'post', body: 'payload' })) });
    expect(bodyJson(response)).toEqual({ status: 201, ok: true, contentType: 'application/json', body: { ok: true } });
    const [, request] = calls.find(([kind]) => kind === 'fetch')! as [string, { method: string; url: string; headers: unknown; body: Uint8Array; timeoutMs: number }];
    expect(request.method).toBe('POST');
    expect(request.url).toBe('https://api.example.com/x');
    expect(request.headers).toEqual([['x-test', 'yes']]);
    expect(decoder.decode(request.body)).toBe('payload');
    expect(request.timeoutMs).toBe(1000);
  });

  it('secrets: a known name gives its value, an unknown one undefined', () => {
    expect(bodyJson(guest.handle({ method: 'GET', path: '/secret/token' }))).toEqual({ value: 's3cret' });
    expect(bodyJson(guest.handle({ method: 'GET', path: '/secret/other' }))).toEqual({ value: null });
  });

  it('log and metrics: levels, string fields and labels reach the host', () => {
    expect(guest.handle({ method: 'POST', path: '/observe' }).status).toBe(204);
    expect(calls).toContainEqual(['log', 'info', 'observed', [['count', '2']]]);
    expect(calls).toContainEqual(['counter', 'tour_calls', 1, [['route', 'observe']]]);
    expect(calls).toContainEqual(['histogram', 'tour_ms', 12.5, []]);
  });

  it('ui-proxy: JSON in, JSON out', () => {
    const response = guest.handle({ method: 'POST', path: '/proxy/tickets', body: encoder.encode('{"id":7}') });
    expect(bodyJson(response)).toEqual({ route: 'tickets', got: { id: 7 } });
  });

  for (const [tag, name] of [
    ['denied', 'HostDeniedError'],
    ['not-found', 'HostNotFoundError'],
    ['invalid', 'HostInvalidError'],
    ['limit', 'HostLimitError'],
    ['unavailable', 'HostUnavailableError'],
  ] as const) {
    it(`a ${tag} host error reaches the handler as ${name}`, () => {
      denyStorage = tag;
      try {
        const response = guest.handle({ method: 'GET', path: '/host-error', query: 'key=x' });
        expect(bodyJson(response)).toEqual({ thrown: true, name, kind: tag, operation: 'storage.put', message: 'storage.put: storage refused x' });
      } finally {
        denyStorage = '';
      }
    });
  }
});
