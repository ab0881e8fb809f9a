import { readFileSync } from 'node:fs';
import { installedVersion } from '../package-version.ts';

/** The tools that turn a project into component.wasm; their versions go into provenance.json. */
const tools = ['@bytecodealliance/componentize-js', '@bytecodealliance/jco', '@bytecodealliance/wizer', 'binaryen', 'esbuild'];

/** Tool name (without npm scope) → installed version, plus the alga SDK (this package) and Node. */
export function toolchainVersions(): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const tool of tools) versions[tool.replace(/^@[^/]+\//, '')] = installedVersion(tool) ?? 'not installed';
  const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  versions['alga-sdk'] = own.version;
  versions.node = process.version;
  return versions;
}
