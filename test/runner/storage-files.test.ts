import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openLmdbStorageEngine } from '../../runner/storage/lmdb-engine.ts';
import { tempDir } from '../host/temp-dir.ts';

describe('runner storage (alga.storage) files on disk', () => {
  const dir = tempDir('alga-runner-storage-');
  afterEach(() => dir.remove());

  it('creates its LMDB folder 0700 and data.mdb and lock.mdb 0600', async () => {
    const path = join(dir.path, 'storage');
    const engine = openLmdbStorageEngine({ path });
    await engine.root.put('k', Buffer.from('guest data'));
    await engine.close();
    const modeOf = (file: string) => (statSync(file).mode & 0o777).toString(8);
    expect(modeOf(path)).toBe('700');
    expect(modeOf(join(path, 'data.mdb'))).toBe('600');
    expect(modeOf(join(path, 'lock.mdb'))).toBe('600');
  });
});
