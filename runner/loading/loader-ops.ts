import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportMutableGlobals } from './global-exports.ts';
import { capModuleMemory } from './memory-cap.ts';
import { transpileCached } from './transpile-cache.ts';

/** What loading a component needs: transpiling it (cached on disk) and compiling its core modules. */
export interface ComponentLoader {
  transpile(component: Uint8Array, cacheDir: string): Promise<TranspiledSummary>;
  compile(folder: string, names: string[], memoryBytes: number): Promise<Record<string, WebAssembly.Module>>;
  /** Gets ready ahead of the first call (a thread takes a moment to start). */
  start(): void;
  close(): Promise<void>;
}

export interface TranspiledSummary {
  modulePath: string;
  coreModuleNames: string[];
  /** Their size in all (what the compiled-module cache counts). */
  coreModuleBytes: number;
  imports: string[];
  cached: boolean;
}

export async function transpileSummary(component: Uint8Array, cacheDir: string): Promise<TranspiledSummary> {
  const transpiled = await transpileCached(component, cacheDir);
  return {
    modulePath: transpiled.modulePath,
    coreModuleNames: [...transpiled.coreModules.keys()],
    coreModuleBytes: [...transpiled.coreModules.values()].reduce((sum, bytes) => sum + bytes.length, 0),
    imports: transpiled.imports,
    cached: transpiled.cached,
  };
}

/** Compiles the named core modules of a transpiled component, their memory capped at `memoryBytes`. */
export async function compileCoreModules(folder: string, names: string[], memoryBytes: number): Promise<Record<string, WebAssembly.Module>> {
  const modules: Record<string, WebAssembly.Module> = {};
  for (const name of names) {
    const source = new Uint8Array(readFileSync(join(folder, name)));
    modules[name] = await WebAssembly.compile(capModuleMemory(exportMutableGlobals(source).bytes, memoryBytes).bytes as Uint8Array<ArrayBuffer>);
  }
  return modules;
}

/**
 * Loads on the calling thread: for a process that runs one local extension and serves nobody
 * else meanwhile (`alga-ext run`), a loader thread would only add its own start-up.
 */
export class InlineLoader implements ComponentLoader {
  transpile(component: Uint8Array, cacheDir: string): Promise<TranspiledSummary> {
    return transpileSummary(component, cacheDir);
  }

  compile(folder: string, names: string[], memoryBytes: number): Promise<Record<string, WebAssembly.Module>> {
    return compileCoreModules(folder, names, memoryBytes);
  }

  start(): void {}

  async close(): Promise<void> {}
}
