import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const pageScripts = { 'theme.js': 'src/theme.ts', 'ext-page.js': 'src/ext-page.ts', 'debug-page.js': 'src/debug-page.ts' } as const;
const stylesheet = fileURLToPath(new URL('static/style.css', import.meta.url));
const cache = new Map<string, Promise<string>>();

export type PageScriptName = keyof typeof pageScripts;

export function isPageScript(name: string): name is PageScriptName {
  return Object.hasOwn(pageScripts, name);
}

/** A page script bundled for the browser (plain JS, one file), built once per process. */
export function pageScript(name: PageScriptName): Promise<string> {
  let built = cache.get(name);
  if (!built) {
    built = bundle(fileURLToPath(new URL(pageScripts[name], import.meta.url)));
    built.catch(() => cache.delete(name));
    cache.set(name, built);
  }
  return built;
}

export function pageStylesheet(): string {
  return readFileSync(stylesheet, 'utf8');
}

async function bundle(entry: string): Promise<string> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
