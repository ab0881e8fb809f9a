import { chmodSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { tempDir } from './temp-dir.ts';

describe('host store (LMDB)', () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  function fresh(): { store: HostStore; dir: string } {
    const dir = tempDir();
    const store = openStore(dir.path);
    cleanups.push(dir.remove, () => store.close());
    return { store, dir: dir.path };
  }

  it('commits every write of a transaction together, and none when it throws', async () => {
    const { store } = fresh();
    const db = store.db<number, string>('test.values');
    store.transaction(() => {
      db.putSync('a', 1);
      db.putSync('b', 2);
    });
    expect(() =>
      store.transaction(() => {
        db.putSync('a', 10);
        db.putSync('c', 3);
        throw new Error('half-way');
      }),
    ).toThrow('half-way');
    expect(db.get('a')).toBe(1);
    expect(db.get('b')).toBe(2);
    expect(db.get('c')).toBeUndefined();
  });

  it('runs forward migrations once, in order, and persists the schema version', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const ran: number[] = [];
    const migrations = [
      { version: 2, description: 'second', up: (s: HostStore) => { ran.push(2); s.db<string, string>('m.items').putSync('k', 'v2'); } },
      { version: 1, description: 'first', up: (s: HostStore) => { ran.push(1); s.db<string, string>('m.items').putSync('k', 'v1'); } },
    ];
    let store = openStore(dir.path);
    store.migrate('m', migrations);
    expect(ran).toEqual([1, 2]);
    expect(store.schemaVersion('m')).toBe(2);
    await store.close();

    store = openStore(dir.path);
    store.migrate('m', migrations);
    expect(ran).toEqual([1, 2]);
    expect(store.db<string, string>('m.items').get('k')).toBe('v2');
    expect(() => store.migrate('m', migrations.slice(1))).toThrow(/E_STORE_SCHEMA_NEWER|newer version/);
    await store.close();
  });

  it('leaves the schema version unchanged when a migration fails', async () => {
    const { store } = fresh();
    store.migrate('x', [{ version: 1, description: 'ok', up: () => {} }]);
    expect(() =>
      store.migrate('x', [
        { version: 1, description: 'ok', up: () => {} },
        { version: 2, description: 'bad', up: (s) => { s.db<string, string>('x.items').putSync('k', 'v'); throw new Error('boom'); } },
      ]),
    ).toThrow(/migration 2/);
    expect(store.schemaVersion('x')).toBe(1);
    expect(store.db<string, string>('x.items').get('k')).toBeUndefined();
  });

  const modeOf = (path: string) => (statSync(path).mode & 0o777).toString(8);

  it('keeps its files readable by the owner only: store folder 0700, data.mdb and lock.mdb 0600', async () => {
    const { store, dir } = fresh();
    store.db<string, string>('test.values').putSync('k', 'v');
    await store.flushed();
    expect(modeOf(join(dir, 'store'))).toBe('700');
    expect(modeOf(join(dir, 'store', 'data.mdb'))).toBe('600');
    expect(modeOf(join(dir, 'store', 'lock.mdb'))).toBe('600');
  });

  it('narrows files an earlier version left group- and world-readable to 0600 when it opens them', async () => {
    const dir = tempDir();
    cleanups.push(dir.remove);
    const before = openStore(dir.path);
    before.db<string, string>('test.values').putSync('k', 'kept');
    await before.close();
    for (const file of ['data.mdb', 'lock.mdb']) chmodSync(join(dir.path, 'store', file), 0o644);

    const store = openStore(dir.path);
    cleanups.push(() => store.close());
    expect(modeOf(join(dir.path, 'store', 'data.mdb'))).toBe('600');
    expect(modeOf(join(dir.path, 'store', 'lock.mdb'))).toBe('600');
    expect(store.db<string, string>('test.values').get('k')).toBe('kept');
  });
});
