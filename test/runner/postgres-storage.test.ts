import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../runner/capabilities/factor.ts';
import { openRunnerDatabase, type RunnerDatabase } from '../../runner/fleet/database.ts';
import { KeyValueStore, type StorageLimits } from '../../runner/storage/key-value-store.ts';
import { openLmdbStorageEngine } from '../../runner/storage/lmdb-engine.ts';
import { openPostgresStorageEngine } from '../../runner/storage/postgres-engine.ts';
import { tempDir } from '../host/temp-dir.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';

/**
 * alga.storage on PostgreSQL, the fleet's engine: the semantics of key-value-store.ts held by
 * two runners at once (two connections pools on one database), and the same answers as the LMDB engine.
 */
describe('alga.storage on PostgreSQL, shared by two runners', () => {
  let database: TestDatabase;
  const connections: RunnerDatabase[] = [];
  let runnerA: KeyValueStore;
  let runnerB: KeyValueStore;
  const limits: StorageLimits = { maxKeys: 20, maxBytes: 4096, maxValueBytes: 1024 };
  const bytes = (value: string) => new TextEncoder().encode(value);
  const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : Buffer.from(value).toString('utf8'));
  let namespaceCount = 0;
  const fresh = () => ({ tenantId: `tenant-${++namespaceCount}`, extensionId: 'com.example.store' });
  const dir = tempDir('alga-pg-storage-');

  function runner(url: string): KeyValueStore {
    const connection = openRunnerDatabase(url);
    connections.push(connection);
    return new KeyValueStore(openPostgresStorageEngine(connection));
  }

  beforeAll(async () => {
    database = await createTestDatabase('pg_storage');
    runnerA = runner(database.url);
    runnerB = runner(database.url);
  });
  afterAll(async () => {
    for (const connection of connections) await connection.close();
    await database?.drop();
    dir.remove();
  });

  it('adds exactly 200 for 200 increments sent to two runners at once, handing out every value once', async () => {
    const namespace = fresh();
    const values = await Promise.all(Array.from({ length: 200 }, (_, index) => (index % 2 ? runnerA : runnerB).increment(namespace, limits, 'count', 1n)));
    expect(values.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
    expect(text(await runnerA.get(namespace, 'count'))).toBe('200');
  });

  it('lets one of two runners win a compare-and-set on the same version', async () => {
    const namespace = fresh();
    await runnerA.put(namespace, limits, 'doc', bytes('v1'));
    const read = (await runnerB.getVersioned(namespace, 'doc'))!;
    const attempts = await Promise.all(
      [runnerA, runnerB].map((store, index) => store.batch(namespace, limits, [{ kind: 'put', key: 'doc', value: bytes(`writer ${index}`), expect: { kind: 'version', version: read.version } }])),
    );
    expect(attempts.filter((attempt) => 'committed' in attempt)).toHaveLength(1);
    const after = (await runnerA.getVersioned(namespace, 'doc'))!;
    expect(after.version).toBeGreaterThan(read.version);
  });

  it('never lets two runners together pass a namespace\'s key quota', async () => {
    const namespace = fresh();
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, index) => (index % 2 ? runnerA : runnerB).put(namespace, limits, `key-${index}`, bytes('x')).then(() => 'ok', (error: unknown) => (error instanceof HostError ? error.tag : 'other'))),
    );
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(limits.maxKeys);
    expect(outcomes.filter((outcome) => outcome !== 'ok').every((outcome) => outcome === 'limit')).toBe(true);
    expect((await runnerB.list(namespace, 'key-', undefined, 100)).entries).toHaveLength(limits.maxKeys);
  });

  it('lists and pages like the LMDB engine', async () => {
    const lmdb = new KeyValueStore(openLmdbStorageEngine({ path: join(dir.path, 'storage') }));
    try {
      const namespace = fresh();
      const keys = ['a', 'a/1', 'a/10', 'a/2', 'a/b', 'ab', 'b', 'grüße', 'z~', 'a/ü'];
      for (const store of [lmdb, runnerA]) for (const key of keys) await store.put(namespace, limits, key, bytes(`value of ${key}`));
      for (const [prefix, cursor, limit] of [['', undefined, 100], ['a/', undefined, 2], ['a/', 'a/10', 2], ['a', 'a/b', 10], ['nothing', undefined, 5]] as const) {
        const expected = await lmdb.list(namespace, prefix, cursor, limit);
        const actual = await runnerB.list(namespace, prefix, cursor, limit);
        expect(actual.cursor).toEqual(expected.cursor);
        expect(actual.entries.map((entry) => [entry.key, text(entry.value)])).toEqual(expected.entries.map((entry) => [entry.key, text(entry.value)]));
      }
    } finally {
      await lmdb.close();
    }
  });

  it('runs a batch all or nothing, and purges one namespace only', async () => {
    const namespace = fresh();
    const other = fresh();
    await runnerA.put(other, limits, 'kept', bytes('yes'));
    const failed = await runnerA.batch(namespace, limits, [
      { kind: 'put', key: 'one', value: bytes('1') },
      { kind: 'put', key: 'two', value: bytes('2'), expect: { kind: 'version', version: 12345 } },
    ]);
    expect('committed' in failed).toBe(false);
    expect(await runnerB.get(namespace, 'one')).toBeUndefined();
    await runnerB.batch(namespace, limits, [{ kind: 'put', key: 'one', value: bytes('1') }, { kind: 'put', key: 'two', value: bytes('2') }, { kind: 'delete', key: 'one' }]);
    expect([text(await runnerA.get(namespace, 'one')), text(await runnerA.get(namespace, 'two'))]).toEqual([undefined, '2']);
    const before = (await runnerA.getVersioned(namespace, 'two'))!.version;
    expect(await runnerA.purge(namespace)).toBe(1);
    expect(await runnerB.get(namespace, 'two')).toBeUndefined();
    // Versions go on from where they were, so an old version matches nothing written after the purge.
    expect(await runnerB.put(namespace, limits, 'two', bytes('new'))).toBeGreaterThan(before);
    expect(await runnerA.batch(namespace, limits, [{ kind: 'delete', key: 'two', expect: { kind: 'version', version: before } }])).toMatchObject({ conflict: { key: 'two' } });
    await runnerA.delete(namespace, limits, 'two');
    expect(text(await runnerB.get(other, 'kept'))).toBe('yes');
    // The purged namespace starts again from nothing: its quota is whole.
    for (let index = 0; index < limits.maxKeys; index++) await runnerA.put(namespace, limits, `k${index}`, bytes('x'));
  });

  it('refuses, on every runner, the writes of an install a purge retired, a write in flight on another runner included', async () => {
    // A write on runner B racing runner A's purge, many times over: whichever takes the
    // namespace's lock first, the write either commits before the purge (and is purged) or is refused.
    for (let round = 0; round < 20; round++) {
      const raced = fresh();
      const racer = { ...raced, installId: 'ins-old' };
      await runnerA.put(racer, limits, 'before', bytes('1'));
      const purging = runnerA.purge(raced, 'ins-old');
      const inFlight = runnerB.put(racer, limits, 'late', bytes('2')).then(() => 'written', (error: unknown) => error);
      const [removed, outcome] = await Promise.all([purging, inFlight]);
      expect({ round, removed }).toEqual({ round, removed: outcome === 'written' ? 2 : 1 });
      if (outcome !== 'written') {
        expect(outcome).toBeInstanceOf(HostError);
        expect((outcome as HostError).tag).toBe('denied');
      }
      expect(await runnerA.get(raced, 'late')).toBeUndefined();
    }
    const namespace = fresh();
    const writer = { ...namespace, installId: 'ins-old' };
    await runnerA.put(writer, limits, 'before', bytes('1'));
    expect(await runnerA.purge(namespace, 'ins-old')).toBe(1);
    const again = await runnerB.put(writer, limits, 'again', bytes('3')).then(() => 'written', (error: unknown) => error);
    expect((again as HostError).tag).toBe('denied');
    for (const key of ['before', 'again']) expect(await runnerA.get(namespace, key)).toBeUndefined();
    const reinstalled = { ...namespace, installId: 'ins-new' };
    await runnerB.put(reinstalled, limits, 'fresh', bytes('4'));
    expect(text(await runnerA.get(namespace, 'fresh'))).toBe('4');
    expect(await runnerA.purge(namespace)).toBe(1);
    await runnerB.put(reinstalled, limits, 'after-reset', bytes('5'));
    expect(text(await runnerA.get(namespace, 'after-reset'))).toBe('5');
  });

  it('answers "unavailable" to the guest when the database cannot be reached', async () => {
    const unreachable = runner('postgres://postgres@127.0.0.1:1/nowhere');
    const error = await Promise.resolve().then(() => unreachable.get(fresh(), 'key')).then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostError);
    expect((error as HostError).tag).toBe('unavailable');
  });
});
