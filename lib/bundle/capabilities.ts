/**
 * The one map between manifest capabilities and the WIT interfaces of `alga:extension`
 * that need them. A component importing an interface must declare its capability.
 */
export const witPackage = 'alga:extension';

export const capabilityByInterface = {
  storage: 'alga.storage',
  http: 'alga.http',
  secrets: 'alga.secrets',
  logging: 'alga.log',
  metrics: 'alga.metrics',
  'ui-proxy': 'alga.ui_proxy',
} as const;

export type WitInterface = keyof typeof capabilityByInterface;
export type Capability = (typeof capabilityByInterface)[WitInterface];

/** Interfaces of the package that carry only shared types and need no capability. */
export const typeOnlyInterfaces: readonly string[] = ['types'];

export const capabilities: readonly Capability[] = Object.values(capabilityByInterface);

export const interfaceByCapability = Object.fromEntries(
  Object.entries(capabilityByInterface).map(([iface, capability]) => [capability, iface]),
) as { [C in Capability]: WitInterface };

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (capabilities as readonly string[]).includes(value);
}

/** `alga:extension/http@0.1.0` → `http`; undefined for names outside the package. */
export function algaInterfaceOf(importName: string): string | undefined {
  const match = /^alga:extension\/([a-z][a-z0-9-]*)(?:@[^/]+)?$/.exec(importName);
  return match ? match[1] : undefined;
}

/** The capability an import needs: a Capability, `null` for type-only interfaces, undefined if unknown. */
export function capabilityForImport(importName: string): Capability | null | undefined {
  const iface = algaInterfaceOf(importName);
  if (iface === undefined) return undefined;
  if (typeOnlyInterfaces.includes(iface)) return null;
  return (capabilityByInterface as Record<string, Capability>)[iface];
}

/** WASI interfaces every componentize-js guest imports; the runner supplies them (sandboxed). */
export const ambientImportPrefixes: readonly string[] = ['wasi:io/', 'wasi:clocks/', 'wasi:cli/', 'wasi:filesystem/', 'wasi:random/'];

/** The interface every extension must export. */
export const handlerExport = 'alga:extension/handler';
