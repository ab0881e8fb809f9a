import { componentOf } from '../build/index.ts';
import type { BuildStage } from '../build/index.ts';
import { hostInterfaceNames, importSpecifier } from '../build/wit-world.ts';

/**
 * The dev engine: one component, built once (cached by source hash like any build), that imports
 * every host interface and runs whatever extension code `alga-ext dev` hands it. A change in src/
 * is then an esbuild bundle (milliseconds) instead of a componentize-js run (tens of seconds):
 * the same SpiderMonkey, SDK, runner, grants and host APIs as a built component, only the code
 * arrives with the request and is evaluated in the instance (once per version of the code).
 */

/** Config entries the dev server adds to every request, removed before the extension sees the config. */
export const devSourceKey = 'alga-dev.source';
export const devHashKey = 'alga-dev.hash';
/** The wrapper puts the bundle on line 2 of the evaluated text: source maps are shifted by this many lines. */
export const devSourceLineOffset = 1;

function engineSource(): string {
  const names = hostInterfaceNames();
  return `${names.map((name, index) => `import * as host${index} from '${importSpecifier(name)}';`).join('\n')}
const hostModules = { ${names.map((name, index) => `'${importSpecifier(name)}': host${index}`).join(', ')} };
let current;

function load(code) {
  const module = { exports: {} };
  const require = (name) => {
    const found = hostModules[name];
    if (!found) throw new Error('alga-ext dev: the extension imports ' + name + ', which the host does not provide.');
    return found;
  };
  const factory = (0, eval)('(function (require, module, exports) {\\n' + code + '\\n})\\n//# sourceURL=extension.js');
  factory(require, module, module.exports);
  const handler = module.exports.handler;
  if (!handler || typeof handler.handle !== 'function') {
    throw new Error('src/index.ts exports no handler: end it with \`export const handler = defineHandler(router);\`.');
  }
  return handler;
}

export const handler = {
  handle(context, request) {
    let hash;
    let code;
    const config = [];
    for (const entry of context.config) {
      if (entry[0] === '${devHashKey}') hash = entry[1];
      else if (entry[0] === '${devSourceKey}') code = entry[1];
      else config.push(entry);
    }
    if (!current || current.hash !== hash) {
      if (code === undefined) throw new Error('alga-ext dev: the request carried no extension code.');
      current = { hash, handler: load(code) };
    }
    return current.handler.handle({ ...context, config }, request);
  },
};
`;
}

/** The dev engine component (cached in `cacheDir` by source hash; the first build takes a componentize-js run). */
export async function devEngineComponent(cacheDir: string, progress?: (stage: BuildStage, detail?: string) => void): Promise<{ component: Uint8Array; cached: boolean }> {
  return componentOf(engineSource(), hostInterfaceNames(), cacheDir, progress);
}
