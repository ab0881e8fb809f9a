import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { transpileBytes } from '@bytecodealliance/jco-transpile';
import { WASIShim } from '@bytecodealliance/preview2-shim/instantiation';

/**
 * Runs a built component in this process so SDK tests can call its handler with host
 * imports written in the test (a real guest and real bindings; no runner involved).
 * WASI is sandboxed: no preopens, no environment, no network.
 */
export interface GuestRequest {
  method: string;
  path: string;
  query?: string;
  headers?: Array<[string, string]>;
  body?: Uint8Array;
}

export interface GuestResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Uint8Array;
}

export interface Guest {
  handle(request: GuestRequest, config?: Record<string, string>): GuestResponse;
  close(): void;
}

/** `host` maps unversioned interface names (`alga:extension/storage`) to their functions. */
export async function loadGuest(componentPath: string, host: Record<string, Record<string, unknown>>): Promise<Guest> {
  const { files } = await transpileBytes(readFileSync(componentPath), { name: 'guest', instantiation: { tag: 'async' } } as never);
  const dir = mkdtempSync(join(tmpdir(), 'alga-guest-'));
  for (const [name, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), bytes as Uint8Array);
  }
  const module = (await import(pathToFileURL(join(dir, 'guest.js')).href)) as {
    instantiate(getCoreModule: (name: string) => Promise<WebAssembly.Module>, imports: object): Promise<Record<string, any>>;
  };
  const wasi = new WASIShim({ sandbox: { preopens: {}, env: {}, args: ['guest'], enableNetwork: false } } as never).getImportObject();
  const instance = await module.instantiate((name) => WebAssembly.compile(readFileSync(join(dir, name))), { ...wasi, ...host });
  const handler = instance.handler ?? instance['alga:extension/handler@0.1.0'];
  return {
    handle(request, config = {}) {
      const context = {
        tenantId: 'tenant-1',
        extensionId: 'com.example.test',
        installId: 'install-1',
        requestId: 'request-1',
        version: '1.0.0',
        contentHash: 'sha256:' + '0'.repeat(64),
        config: Object.entries(config),
      };
      return handler.handle(context, { query: '', headers: [], body: new Uint8Array(0), ...request });
    },
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Throws what a host import returning `err(host-error)` makes the guest see. */
export function hostError(tag: 'denied' | 'not-found' | 'invalid' | 'limit' | 'unavailable', message: string): never {
  throw Object.assign(new Error(message), { payload: { tag, val: message } });
}

type Expectation = { tag: 'absent' } | { tag: 'version'; val: bigint } | { tag: 'value'; val: Uint8Array };
type Operation =
  | { tag: 'put'; val: { key: string; value: Uint8Array; expect?: Expectation } }
  | { tag: 'delete'; val: { key: string; expect?: Expectation } }
  | { tag: 'increment'; val: { key: string; by: bigint } }
  | { tag: 'check'; val: { key: string; expect: Expectation } };

/**
 * The whole `alga:extension/storage` interface over a Map, for guests run by `loadGuest`:
 * every write bumps the key's version; a batch runs on a copy and lands only when every step
 * holds. Tests replace single functions to deny or record calls.
 */
export function memoryStorage(store: Map<string, Uint8Array>): Record<string, (...args: any[]) => unknown> {
  const versions = new Map<string, bigint>();
  let nextVersion = 1n;
  const holds = (data: Map<string, Uint8Array>, key: string, expect: Expectation | undefined) => {
    if (!expect) return true;
    const current = data.get(key);
    if (expect.tag === 'absent') return current === undefined;
    if (current === undefined) return false;
    if (expect.tag === 'version') return (versions.get(key) ?? 0n) === expect.val;
    return Buffer.from(current).equals(Buffer.from(expect.val));
  };
  const incrementIn = (data: Map<string, Uint8Array>, key: string, by: bigint) => {
    const text = data.has(key) ? new TextDecoder().decode(data.get(key)) : '0';
    if (!/^-?\d+$/.test(text.trim())) hostError('invalid', `storage.increment: ${key} does not hold an integer`);
    const sum = BigInt(text.trim()) + by;
    data.set(key, new TextEncoder().encode(String(sum)));
    return sum;
  };
  return {
    get: (key: string) => store.get(key),
    put(key: string, value: Uint8Array) {
      store.set(key, value);
      versions.set(key, nextVersion++);
    },
    delete: (key: string) => store.delete(key),
    listByPrefix(prefix: string, cursor: string | undefined, limit: number) {
      const keys = [...store.keys()].filter((key) => key.startsWith(prefix)).sort();
      const start = cursor ? keys.indexOf(cursor) : 0;
      const page = keys.slice(start, start + limit);
      return { entries: page.map((key) => ({ key, value: store.get(key)! })), cursor: keys[start + limit] };
    },
    getVersioned(key: string) {
      const value = store.get(key);
      return value === undefined ? undefined : { value, version: versions.get(key) ?? 0n };
    },
    increment(key: string, by: bigint) {
      const sum = incrementIn(store, key, by);
      versions.set(key, nextVersion++);
      return sum;
    },
    batch(operations: Operation[]) {
      const draft = new Map(store);
      const written: string[] = [];
      const results: unknown[] = [];
      for (const [index, operation] of operations.entries()) {
        const { key } = operation.val;
        const expect = operation.tag === 'increment' ? undefined : operation.val.expect;
        if (!holds(draft, key, expect)) {
          return { tag: 'conflict', val: { index, key, currentVersion: draft.has(key) ? (versions.get(key) ?? 0n) : undefined } };
        }
        if (operation.tag === 'put') {
          draft.set(key, operation.val.value);
          written.push(key);
          results.push({ tag: 'put', val: nextVersion + BigInt(written.length - 1) });
        } else if (operation.tag === 'delete') {
          results.push({ tag: 'delete', val: draft.delete(key) });
        } else if (operation.tag === 'increment') {
          written.push(key);
          results.push({ tag: 'increment', val: incrementIn(draft, key, operation.val.by) });
        } else {
          results.push({ tag: 'check' });
        }
      }
      store.clear();
      for (const [key, value] of draft) store.set(key, value);
      for (const key of written) versions.set(key, nextVersion++);
      return { tag: 'committed', val: results };
    },
  };
}
