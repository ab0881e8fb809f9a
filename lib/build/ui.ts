import { build, type Message } from 'esbuild';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AlgaError } from '../errors/index.ts';
import { formatMessage } from './bundle-source.ts';

const iframeSdkEntry = fileURLToPath(new URL('../../sdk/iframe/index.ts', import.meta.url));

/** True for a TypeScript module that esbuild should bundle (not a declaration file). */
function isTypeScript(name: string): boolean {
  return name.endsWith('.ts') && !name.endsWith('.d.ts');
}

/**
 * The project's `ui/` folder as it goes into `dist/ui/`: every file copied, except that each
 * top-level `ui/*.ts` is an entry bundled for the browser into `*.js` (with the iframe SDK),
 * and TypeScript modules it imports are not copied. Paths are relative to `ui/`, `/`-separated.
 * Nothing is written here, so a compile error leaves the previous dist untouched.
 */
export async function buildUiFiles(projectDir: string): Promise<Map<string, Uint8Array> | undefined> {
  const uiDir = join(projectDir, 'ui');
  if (!existsSync(uiDir)) return undefined;
  const files = new Map<string, Uint8Array>();
  const entries: string[] = [];
  for (const path of listFiles(uiDir, projectDir)) {
    const relativePath = relative(uiDir, path).split('\\').join('/');
    if (isTypeScript(relativePath)) {
      if (!relativePath.includes('/')) entries.push(path);
      continue;
    }
    if (relativePath.endsWith('.d.ts')) continue;
    files.set(relativePath, readFileSync(path));
  }
  for (const [name, bytes] of await bundleUiEntries(entries, uiDir, projectDir)) files.set(name, bytes);
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function listFiles(dir: string, projectDir: string): string[] {
  const result: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name);
    if (lstatSync(path).isSymbolicLink()) throw new AlgaError('E_BUILD_UI_LINK', `${relative(projectDir, path)} is a link; copy the file into ui/ instead.`);
    if (entry.isDirectory()) result.push(...listFiles(path, projectDir));
    else if (entry.isFile()) result.push(path);
  }
  return result;
}

async function bundleUiEntries(entries: string[], uiDir: string, projectDir: string): Promise<Map<string, Uint8Array>> {
  const outputs = new Map<string, Uint8Array>();
  if (entries.length === 0) return outputs;
  let result;
  try {
    result = await build({
      entryPoints: entries,
      absWorkingDir: projectDir,
      outdir: uiDir,
      outbase: uiDir,
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      write: false,
      logLevel: 'silent',
      alias: { '@alga/extension-iframe-sdk': iframeSdkEntry },
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const lines = errors.map((message) => formatMessage(message, projectDir));
    throw new AlgaError('E_BUILD_SOURCE_ERROR', lines.join('\n') || String(error), { cause: error });
  }
  for (const file of result.outputFiles) outputs.set(relative(uiDir, file.path).split('\\').join('/'), file.contents);
  return outputs;
}
