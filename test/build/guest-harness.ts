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
