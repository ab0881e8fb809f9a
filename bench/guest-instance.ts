// A guest instantiated on the calling thread through jco's glue with the runner's own WASI, its memory and
// mutable globals exposed as the workers snapshot them: no worker, no HTTP. Shared by bench/guest-floor.ts and bench/tenant-switch.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { exportMutableGlobals, globalExportPrefix } from '../runner/loading/global-exports.ts';
import { transpileCached } from '../runner/loading/transpile-cache.ts';
import { withDirectHostImports } from '../runner/pool/direct-host-imports.ts';
import { guestWasiImports, withDirectWasiFunctions } from '../runner/pool/guest-environment.ts';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export type Handle = (context: unknown, request: unknown) => { status: number; body: Uint8Array };

export interface BenchGuest {
  handle: Handle;
  /** The instance's largest linear memory and its mutable globals, as the runner's workers snapshot them. */
  memory: WebAssembly.Memory;
  globals: WebAssembly.Global[];
}

export const benchContext = {
  tenantId: 'bench-tenant', extensionId: 'com.example.hello', installId: 'bench-install', requestId: '6f0a4d8e-3c1b-4f7a-9e2d-1b5c8a7d9e0f',
  version: '1.0.0', contentHash: `sha256:${'a'.repeat(64)}`, config: [['greeting_name', 'Ada']],
};
export const benchRequest = { method: 'GET', path: '/hello', query: '', headers: [['accept', 'application/json']], body: new Uint8Array() };

/**
 * Instantiates `project`'s built component. `direct`: the clock, u64 random and the host imports
 * of runner/pool/direct-host-imports.ts go to the core module without jco's trampolines, as in
 * the runner's workers (`directHost`: false sends those host imports through jco all the same). `onWasiCall` counts the WASI calls
 * that do go through jco. `hostImports`: `alga:extension/*` interfaces by name (`storage`) that
 * answer instead of refusing every call.
 */
export async function instantiateBenchGuest(project: string, cacheDir: string, options: { direct?: boolean; directHost?: boolean; onWasiCall?: () => void; hostImports?: Record<string, object> } = {}): Promise<BenchGuest> {
  const transpiled = await transpileCached(readFileSync(join(repoRoot, project, 'dist', 'component.wasm')), cacheDir);
  const glue = (await import(pathToFileURL(transpiled.modulePath).href)) as { instantiate: Function };
  const modules: Record<string, WebAssembly.Module> = {};
  for (const [name, bytes] of transpiled.coreModules) modules[name] = await WebAssembly.compile(exportMutableGlobals(bytes as Uint8Array).bytes as Uint8Array<ArrayBuffer>);
  const onWasiCall = options.onWasiCall;
  const imports: Record<string, Record<string, unknown>> = {};
  for (const [iface, members] of Object.entries(guestWasiImports(() => {}))) {
    imports[iface] = Object.fromEntries(
      Object.entries(members).map(([name, member]) => [name, onWasiCall && typeof member === 'function' && !/^[A-Z]/.test(name) ? (...args: unknown[]) => (onWasiCall(), (member as Function)(...args)) : member]),
    );
  }
  const refuse = () => {
    throw { payload: { tag: 'unavailable', val: 'No host services in this benchmark.' } };
  };
  for (const iface of ['storage', 'http', 'secrets', 'logging', 'metrics', 'ui-proxy']) imports[`alga:extension/${iface}`] = (options.hostImports?.[iface] as Record<string, unknown>) ?? new Proxy({}, { get: () => refuse });
  const memories: WebAssembly.Memory[] = [];
  const globals: WebAssembly.Global[] = [];
  const hostCall = (iface: string, fn: string, args: unknown[]) => (imports[`alga:extension/${iface}`] as Record<string, (...args: unknown[]) => unknown>)[fn](...args);
  const instantiateCore = async (module: WebAssembly.Module, coreImports: WebAssembly.Imports) => {
    const direct = (options.directHost ?? options.direct) === false ? undefined : withDirectHostImports(module, coreImports, hostCall);
    const withStorage = direct ? direct.imports : coreImports;
    const instance = await WebAssembly.instantiate(module, options.direct === false ? withStorage : withDirectWasiFunctions(withStorage));
    direct?.attach(instance);
    for (const [name, value] of Object.entries(instance.exports)) {
      if (value instanceof WebAssembly.Memory) memories.push(value);
      else if (value instanceof WebAssembly.Global && name.startsWith(globalExportPrefix)) globals.push(value);
    }
    return instance;
  };
  const exports = await glue.instantiate((name: string) => modules[name], imports, instantiateCore);
  const memory = memories.sort((a, b) => b.buffer.byteLength - a.buffer.byteLength)[0];
  return { handle: (c, r) => exports.handler.handle(c, r), memory, globals };
}
