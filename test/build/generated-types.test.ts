import { describe, expect, it } from 'vitest';
import { generateGuestTypeFiles, readGeneratedTypeFiles } from '../../lib/build/generate-types.ts';

describe('SDK types generated from wit/', () => {
  it('are up to date: regenerating gives the files in sdk/runtime/generated (run scripts/gen-types.ts after editing wit/)', async () => {
    const fresh = await generateGuestTypeFiles();
    const onDisk = readGeneratedTypeFiles();
    expect([...onDisk.keys()]).toEqual([...fresh.keys()]);
    for (const [name, text] of fresh) expect(onDisk.get(name), name).toBe(text);
  });

  it('declare every host interface of the world with its functions', async () => {
    const files = await generateGuestTypeFiles();
    const storage = files.get('interfaces/alga-extension-storage.d.ts')!;
    expect(storage).toContain("declare module 'alga:extension/storage@0.1.0'");
    expect(storage).toContain('export function listByPrefix(prefix: string, cursor: string | undefined, limit: number): Page;');
    for (const name of ['http', 'secrets', 'logging', 'metrics', 'ui-proxy', 'handler', 'types']) {
      expect(files.has(`interfaces/alga-extension-${name}.d.ts`), name).toBe(true);
    }
  });
});
