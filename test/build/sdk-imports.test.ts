import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { bundleExtensionSource } from '../../lib/build/bundle-source.ts';

const scratch = mkdtempSync(join(tmpdir(), 'alga-sdk-imports-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function interfacesUsedBy(name: string, source: string): Promise<{ interfaces: string[]; code: string }> {
  const projectDir = join(scratch, name);
  mkdirSync(join(projectDir, 'src'), { recursive: true });
  writeFileSync(join(projectDir, 'src', 'index.ts'), source);
  const bundled = await bundleExtensionSource(join(projectDir, 'src', 'index.ts'), projectDir);
  return { interfaces: bundled.usedInterfaces, code: bundled.code };
}

/** A component imports only what its code uses, so each SDK wrapper must pull in only its own interface. */
describe('SDK wrappers import only their own WIT interface', () => {
  const cases: Array<[string, string, string[]]> = [
    ['router only', "json({})", []],
    ['storage', "storage.getJson('k')", ['storage']],
    ['http', "http.fetch('https://a.example')", ['http']],
    ['secrets', "secrets.get('k')", ['secrets']],
    ['log', "log.info('m')", ['logging']],
    ['metrics', "metrics.increment('c')", ['metrics']],
    ['uiProxy', "uiProxy.callJson('r')", ['ui-proxy']],
    ['storage and log', "storage.get('k'); log.warn('m')", ['logging', 'storage']],
  ];
  for (const [label, use, expected] of cases) {
    it(`${label} → ${expected.join(', ') || 'no host imports'}`, async () => {
      const source = `import { defineHandler, json, storage, http, secrets, log, metrics, uiProxy } from '@alga/extension-runtime';
export const handler = defineHandler(() => { ${use}; return json({}); });\n`;
      const { interfaces, code } = await interfacesUsedBy(label.replace(/\W+/g, '-'), source);
      expect(interfaces).toEqual(expected);
      const imported = [...code.matchAll(/from\s+"(alga:extension\/[^"]+)"/g)].map((match) => match[1]);
      expect(imported.sort()).toEqual(expected.map((name) => `alga:extension/${name}@0.1.0`));
    });
  }

  it('the SDK bundles without Node built-ins (it runs inside the guest)', async () => {
    const { code } = await interfacesUsedBy('everything', "import * as sdk from '@alga/extension-runtime';\nexport const all = sdk;\n");
    // The bundle is built for a neutral platform with only alga:/wasi: external, so a Node
    // built-in would already have failed to resolve; what remains may import only host interfaces.
    const imported = [...code.matchAll(/^import .* from "([^"]+)";$/gm)].map((match) => match[1]);
    expect(imported.length).toBe(6);
    for (const specifier of imported) expect(specifier).toMatch(/^alga:extension\/[a-z-]+@0\.1\.0$/);
    expect(code).not.toContain('__require');
  });
});
