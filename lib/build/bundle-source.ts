import { build, type Message, type Plugin } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { AlgaError } from '../errors/index.ts';
import { interfaceOfSpecifier } from './wit-world.ts';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
const sdkNamespace = 'alga-sdk';

/**
 * The runtime SDK (and the lib/ files it imports) under a fixed name, `alga-sdk:sdk/runtime/…`,
 * wherever this package is installed: esbuild writes each module's path into the bundle (a
 * comment) and the source map, so a path relative to the project would make the same source
 * give other bytes in another folder.
 */
const sdkAtFixedPath: Plugin = {
  name: 'alga-sdk-at-fixed-path',
  setup(build) {
    // sdk/runtime/package.json says `"sideEffects": false`; outside the file namespace esbuild cannot read it.
    const resolved = (path: string) => ({ path, namespace: sdkNamespace, sideEffects: path.startsWith('sdk/runtime/') ? false : undefined });
    build.onResolve({ filter: /^@alga\/extension-runtime$/ }, () => resolved('sdk/runtime/index.ts'));
    build.onResolve({ filter: /^\.\.?\//, namespace: sdkNamespace }, (args) => {
      const path = posix.join(posix.dirname(args.importer), args.path);
      const found = [path, `${path}.ts`, `${path}/index.ts`].find((candidate) => existsSync(join(packageRoot, candidate)));
      return resolved(found ?? path);
    });
    build.onLoad({ filter: /.*/, namespace: sdkNamespace }, (args) => {
      const file = join(packageRoot, args.path);
      return { contents: readFileSync(file, 'utf8'), loader: 'ts', resolveDir: dirname(file) };
    });
  },
};

/**
 * An extension's top-level code runs once at build time, under wizer, where the engine has no
 * randomness: Math.random and crypto's random functions trap there with no message, and the
 * build said only "wizer trapped". The bundle's first lines put wrappers in their place that
 * throw an error saying so while the module initialises (the build reports a guest's own init
 * error) and call the real functions afterwards (for code that kept a reference); its last lines
 * put the real functions back. `alga-ext dev` bundles the same lines, so it refuses the same code.
 */
const randomAtInit = {
  banner: [
    'const __algaInit = { loading: true, random: Math.random, crypto: globalThis.crypto, own: {} };',
    'const __algaGuard = (name, real, self) => function (...args) { if (__algaInit.loading) throw new Error(`${name} cannot be called while the extension module loads: its top-level code runs once, at build time, where there is no randomness. Call it inside a handler.`); return real.apply(this ?? self, args); };',
    'Math.random = __algaGuard("Math.random()", __algaInit.random, Math);',
    'for (const name of ["getRandomValues", "randomUUID"]) if (typeof __algaInit.crypto?.[name] === "function") { __algaInit.own[name] = Object.getOwnPropertyDescriptor(__algaInit.crypto, name); Object.defineProperty(__algaInit.crypto, name, { value: __algaGuard(`crypto.${name}()`, __algaInit.crypto[name], __algaInit.crypto), configurable: true, writable: true }); }',
  ].join('\n'),
  footer: [
    '__algaInit.loading = false;',
    'Math.random = __algaInit.random;',
    'for (const [name, own] of Object.entries(__algaInit.own)) if (own) Object.defineProperty(__algaInit.crypto, name, own); else delete __algaInit.crypto[name];',
  ].join('\n'),
};

export interface BundledSource {
  code: string;
  /** Source map of `code` (sources relative to the project, no source text), for stack traces. */
  map: string;
  /** Host interfaces (`storage`, `http`, …) the bundled code imports. */
  usedInterfaces: string[];
}

/**
 * Bundles the extension's TypeScript and the runtime SDK into one ES module for componentize-js,
 * or (`cjs`, for `alga-ext dev`) into a CommonJS body whose host imports are `require` calls.
 */
export async function bundleExtensionSource(entry: string, projectDir: string, format: 'esm' | 'cjs' = 'esm'): Promise<BundledSource> {
  let result;
  try {
    result = await build({
      entryPoints: [entry],
      // Paths in the output's comments are relative to this: the same project gives the same code from any cwd.
      absWorkingDir: projectDir,
      bundle: true,
      format,
      platform: 'neutral',
      target: 'es2022',
      write: false,
      outfile: 'extension.js',
      // Not inline: the code (and so the component cache key) stays the same when only positions move.
      sourcemap: 'external',
      sourcesContent: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [sdkAtFixedPath],
      external: ['alga:extension/*', 'wasi:*'],
      banner: { js: randomAtInit.banner },
      footer: { js: randomAtInit.footer },
      mainFields: ['module', 'main'],
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const lines = errors.map((message) => formatMessage(message, projectDir));
    throw new AlgaError('E_BUILD_SOURCE_ERROR', lines.join('\n') || String(error), { cause: error });
  }
  const output = result.outputFiles.find((file) => file.path.endsWith('.js'))!;
  const map = result.outputFiles.find((file) => file.path.endsWith('.js.map'))!;
  // The output's imports, not the inputs': tree-shaken SDK wrappers must not count as used.
  const usedInterfaces = new Set<string>();
  for (const bundle of Object.values(result.metafile.outputs)) {
    for (const imported of bundle.imports) {
      const name = interfaceOfSpecifier(imported.path);
      if (imported.external && name) usedInterfaces.add(name);
    }
  }
  return { code: output.text, map: map.text, usedInterfaces: [...usedInterfaces].sort() };
}

/** `file:line: message`, with the file relative to the project. */
export function formatMessage(message: Message, projectDir: string): string {
  if (!message.location) return message.text;
  // esbuild reports files relative to absWorkingDir (the project).
  const file = relative(projectDir, resolve(projectDir, message.location.file)) || message.location.file;
  return `${file}:${message.location.line}: ${message.text}`;
}
