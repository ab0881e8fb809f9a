import { AlgaError } from '../errors/index.ts';
import { ambientImportPrefixes, capabilityForImport, handlerExport } from './capabilities.ts';
import { readComponentInterfaces } from './component-interfaces.ts';
import type { Manifest } from './manifest.ts';

/**
 * Checks a component against its manifest: it exports the handler, imports only interfaces
 * the host provides, and every alga:extension import's capability is declared.
 * Returns the component's imports and exports.
 */
export function checkComponentAgainstManifest(component: Uint8Array, manifest: Manifest): { imports: string[]; exports: string[] } {
  const { imports, exports } = readComponentInterfaces(component);
  if (!exports.some((name) => name === handlerExport || name.startsWith(`${handlerExport}@`))) {
    throw new AlgaError('E_COMPONENT_INVALID', `It does not export ${handlerExport} (exports: ${exports.join(', ') || 'none'}).`);
  }
  for (const name of imports) {
    const capability = capabilityForImport(name);
    if (capability === null) continue;
    if (capability === undefined) {
      if (ambientImportPrefixes.some((prefix) => name.startsWith(prefix))) continue;
      throw new AlgaError('E_COMPONENT_UNKNOWN_IMPORT', `It imports ${name}.`);
    }
    if (!manifest.capabilities.includes(capability)) {
      throw new AlgaError(
        'E_CAPABILITY_NOT_DECLARED',
        `It imports ${name}, which needs "${capability}"; add it to "capabilities" in manifest.json.`,
      );
    }
  }
  return { imports, exports };
}
