import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const witDir = fileURLToPath(new URL('../../wit/', import.meta.url));
export const witPackage = 'alga:extension@0.1.0';

/** The host interfaces a guest may import, keyed by the import specifier the guest code uses. */
export function hostInterfaceNames(): string[] {
  const worldText = readFileSync(join(witDir, 'world.wit'), 'utf8');
  return [...worldText.matchAll(/^\s*import\s+([a-z][a-z0-9-]*)\s*;/gm)].map((match) => match[1]);
}

export function importSpecifier(interfaceName: string): string {
  return `alga:extension/${interfaceName}@0.1.0`;
}

/** Parses `alga:extension/<name>@<version>` back into the interface name. */
export function interfaceOfSpecifier(specifier: string): string | undefined {
  const match = /^alga:extension\/([a-z][a-z0-9-]*)(@[0-9.]+)?$/.exec(specifier);
  return match?.[1];
}

/** The WIT files of the package, except the full world, keyed by file name. */
export function witInterfaceFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of readdirSync(witDir).sort()) {
    if (name.endsWith('.wit') && name !== 'world.wit') files.set(name, readFileSync(join(witDir, name), 'utf8'));
  }
  return files;
}

/**
 * A world like `extension` that imports only the given interfaces, so the component's
 * imports are exactly what its code uses (componentize-js keeps every world import otherwise).
 */
export function narrowedWorld(worldName: string, usedInterfaces: string[]): string {
  const known = new Set(hostInterfaceNames());
  const imports = [...new Set(usedInterfaces)].filter((name) => known.has(name)).sort();
  return [
    `package ${witPackage};`,
    '',
    `world ${worldName} {`,
    ...imports.map((name) => `  import ${name};`),
    '  export handler;',
    '}',
    '',
  ].join('\n');
}
