import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../runner/capabilities/factor.ts';
import { KeyValueStore, type StorageLimits } from '../../runner/storage/key-value-store.ts';
import { namespacePrefix, openLmdbStorageEngine, type LmdbStorageEngine } from '../../runner/storage/lmdb-engine.ts';
import { WorkerStorageReads } from '../../runner/storage/worker-reads.ts';
import { tempDir } from '../host/temp-dir.ts';

/** The semantics of alga.storage (runner/storage/key-value-store.ts) over the real LMDB engine. */
describe('alga.storage key-value store on LMDB', () => {
  const dir = tempDir('alga-kv-store-');
  let engine: LmdbStorageEngine;
  let store: KeyValueStore;
  const limits: StorageLimits = { maxKeys: 50, maxBytes: 4096, maxValueBytes: 1024 };
  const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : Buffer.from(value).toString('utf8'));
  const bytes = (value: string) => new TextEncoder().encode(value);
  let namespaceCount = 0;
  const fresh = () => ({ tenantId: `tenant-${++namespaceCount}`, extensionId: 'com.example.store' });
  const hostError = async (promise: Promise<unknown>) => {
    const error = await promise.then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(HostError);
    return error as HostError;
  };

  beforeAll(() => {
    engine = openLmdbStorageEngine({ path: join(dir.path, 'storage') });
    store = new KeyValueStore(engine);
  });
  afterAll(async () => {
    await store.close();
    dir.remove();
  });

  it('200 concurrent increments add exactly 200 and hand out every value once', async () => {
    const namespace = fresh();
    const values = await Promise.all(Array.from({ length: 200 }, () => store.increment(namespace, limits, 'count', 1n)));
    expect(values.map(Number).sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, index) => index + 1));
    expect(text(await store.get(namespace, 'count'))).toBe('200');
  });

  it('counts from the decimal text a put stored, goes negative, and refuses text and overflow', async () => {
    const namespace = fresh();
    await store.put(namespace, limits, 'n', bytes('41'));
    expect(await store.increment(namespace, limits, 'n', 1n)).toBe(42n);
    expect(await store.increment(namespace, limits, 'n', -50n)).toBe(-8n);
    await store.put(namespace, limits, 'word', bytes('"forty"'));
    expect((await hostError(store.increment(namespace, limits, 'word', 1n))).tag).toBe('invalid');
    await store.put(namespace, limits, 'big', bytes(String(2n ** 63n - 1n)));
    const overflow = await hostError(store.increment(namespace, limits, 'big', 1n));
    expect(overflow.val).toContain('64-bit');
    expect(text(await store.get(namespace, 'big'))).toBe(String(2n ** 63n - 1n));
  });

  it('writes with a version only while the key still has it; a delete and re-create never reuse a version', async () => {
    const namespace = fresh();
    const first = await store.batch(namespace, limits, [{ kind: 'put', key: 'doc', value: bytes('v1'), expect: { kind: 'absent' } }]);
    expect(first).toMatchObject({ committed: [{ kind: 'put' }] });
    const read = (await store.getVersioned(namespace, 'doc'))!;
    expect(text(read.value)).toBe('v1');
    // A second writer that read the same version loses the race.
    await store.batch(namespace, limits, [{ kind: 'put', key: 'doc', value: bytes('writer A'), expect: { kind: 'version', version: read.version } }]);
    const loser = await store.batch(namespace, limits, [{ kind: 'put', key: 'doc', value: bytes('writer B'), expect: { kind: 'version', version: read.version } }]);
    const current = (await store.getVersioned(namespace, 'doc'))!;
    expect(loser).toEqual({ conflict: { index: 0, key: 'doc', currentVersion: current.version } });
    expect(text(current.value)).toBe('writer A');
    expect(current.version).toBeGreaterThan(read.version);
    // absent: only while it does not exist
    expect(await store.batch(namespace, limits, [{ kind: 'put', key: 'doc', value: bytes('x'), expect: { kind: 'absent' } }])).toMatchObject({ conflict: { index: 0 } });
    await store.delete(namespace, limits, 'doc');
    await store.put(namespace, limits, 'doc', bytes('again'));
    const recreated = (await store.getVersioned(namespace, 'doc'))!;
    expect(recreated.version).toBeGreaterThan(current.version);
    // by value
    expect(await store.batch(namespace, limits, [{ kind: 'delete', key: 'doc', expect: { kind: 'value', value: bytes('other') } }])).toMatchObject({ conflict: { index: 0 } });
    expect(await store.batch(namespace, limits, [{ kind: 'delete', key: 'doc', expect: { kind: 'value', value: bytes('again') } }])).toEqual({ committed: [{ kind: 'delete', existed: true }] });
  });

  it('runs a batch in order and all or nothing: a failed check or a quota writes none of it', async () => {
    const namespace = fresh();
    await store.put(namespace, limits, 'from', bytes('10'));
    const from = (await store.getVersioned(namespace, 'from'))!;
    const moved = await store.batch(namespace, limits, [
      { kind: 'check', key: 'from', expect: { kind: 'version', version: from.version } },
      { kind: 'increment', key: 'from', by: -3n },
      { kind: 'increment', key: 'to', by: 3n },
      { kind: 'put', key: 'log', value: bytes('moved 3') },
      { kind: 'check', key: 'log', expect: { kind: 'value', value: bytes('moved 3') } },
    ]);
    expect(moved).toMatchObject({ committed: [{ kind: 'check' }, { kind: 'increment', value: 7n }, { kind: 'increment', value: 3n }, { kind: 'put' }, { kind: 'check' }] });
    const stale = await store.batch(namespace, limits, [
      { kind: 'increment', key: 'to', by: 100n },
      { kind: 'check', key: 'from', expect: { kind: 'version', version: from.version } },
    ]);
    expect(stale).toMatchObject({ conflict: { index: 1, key: 'from' } });
    expect(text(await store.get(namespace, 'to'))).toBe('3');

    const overQuota = [...Array(60).keys()].map((index) => ({ kind: 'put' as const, key: `bulk:${index}`, value: bytes('x') }));
    expect((await hostError(store.batch(namespace, limits, overQuota))).tag).toBe('limit');
    expect((await store.list(namespace, 'bulk:', undefined, 100)).entries).toEqual([]);
    expect((await hostError(store.batch(namespace, limits, Array(101).fill({ kind: 'check', key: 'a', expect: { kind: 'absent' } })))).tag).toBe('limit');
    expect((await hostError(store.batch(namespace, limits, [{ kind: 'put', key: 'ok', value: bytes('1') }, { kind: 'put', key: '', value: bytes('1') }]))).tag).toBe('invalid');
    expect(await store.get(namespace, 'ok')).toBeUndefined();
  });

  it('keeps quotas exact through batches, and lets a namespace over a lowered quota shrink but not grow', async () => {
    const namespace = fresh();
    for (let index = 0; index < 5; index++) await store.put(namespace, limits, `k${index}`, bytes('xxxx'));
    const lowered = { ...limits, maxKeys: 3 };
    expect((await hostError(store.put(namespace, lowered, 'k9', bytes('x')))).tag).toBe('limit');
    expect(await store.put(namespace, lowered, 'k0', bytes('y'))).toBeGreaterThan(0);
    expect(await store.delete(namespace, lowered, 'k1')).toBe(true);
    const state = (engine.root.openDB({ name: 'usage', encoding: 'msgpack' }) as any).get(namespacePrefix(namespace));
    expect(state).toMatchObject({ keys: 4, bytes: 4 * 2 + 1 + 3 * 4 });
  });

  it('reads values stored before versions existed as version 0, and counts on from them', async () => {
    const namespace = fresh();
    const values = engine.root.openDB<Buffer, string>({ name: 'values', encoding: 'binary' });
    const usage = engine.root.openDB({ name: 'usage', encoding: 'msgpack' });
    await values.put(`${namespacePrefix(namespace)}count`, Buffer.from('7'));
    await usage.put(namespacePrefix(namespace), { keys: 1, bytes: 6 });
    expect(await store.getVersioned(namespace, 'count')).toEqual({ value: bytes('7'), version: 0 });
    expect(await store.batch(namespace, limits, [{ kind: 'check', key: 'count', expect: { kind: 'version', version: 0 } }])).toEqual({ committed: [{ kind: 'check' }] });
    expect(await store.increment(namespace, limits, 'count', 1n)).toBe(8n);
    expect((await store.getVersioned(namespace, 'count'))!.version).toBeGreaterThan(0);
  });

  it('purges one namespace and nothing else', async () => {
    const namespace = fresh();
    const neighbour = { tenantId: namespace.tenantId, extensionId: 'com.example.other' };
    const otherTenant = { tenantId: `${namespace.tenantId}x`, extensionId: namespace.extensionId };
    for (const target of [namespace, neighbour, otherTenant]) {
      await store.put(target, limits, 'a', bytes('1'));
      await store.increment(target, limits, 'b', 1n);
    }
    const before = (await store.getVersioned(namespace, 'b'))!.version;
    expect(await store.purge(namespace)).toBe(2);
    expect((await store.list(namespace, '', undefined, 10)).entries).toEqual([]);
    // Versions go on from where they were: a compare-and-set holding one from before the purge cannot match a new write.
    expect(await store.put(namespace, limits, 'b', bytes('new'))).toBeGreaterThan(before);
    expect(await store.batch(namespace, limits, [{ kind: 'put', key: 'b', value: bytes('stale'), expect: { kind: 'version', version: before } }])).toMatchObject({ conflict: { key: 'b' } });
    await store.delete(namespace, limits, 'b');
    expect(text(await store.get(neighbour, 'a'))).toBe('1');
    expect(text(await store.get(otherTenant, 'b'))).toBe('1');
    // The quota starts over.
    for (let index = 0; index < limits.maxKeys; index++) await store.put(namespace, limits, `n${index}`, bytes('1'));
    expect(await store.purge(namespace)).toBe(limits.maxKeys);
  });

  it('with a commit sink, answers a write once decided and hands over its commit: the write is visible and durable once that resolves', async () => {
    const namespace = fresh();
    const commits: Array<Promise<void>> = [];
    const version = await store.put(namespace, limits, 'early', bytes('one'), (commit) => commits.push(commit));
    expect(version).toBeGreaterThan(0);
    expect(commits).toHaveLength(1);
    await commits[0];
    expect(text(await store.get(namespace, 'early'))).toBe('one');
    await store.durable();
    // A write its transaction refuses (over the key quota) throws its own error, and writes nothing.
    const refused = await hostError(store.put(namespace, { ...limits, maxKeys: 1 }, 'second', bytes('two'), (commit) => commits.push(commit)));
    expect(refused.tag).toBe('limit');
    await Promise.all(commits);
    expect(await store.get(namespace, 'second')).toBeUndefined();
  });

  it('in a guest worker, leaves a request\'s reads to the main thread once it has written (the commit may still be on its way), and reads in the worker again for the next request', async () => {
    const namespace = fresh();
    await store.put(namespace, limits, 'k', bytes('stored'));
    const reads = new WorkerStorageReads();
    const grant = { path: engine.workerReadPath! };
    const request = { tenantId: namespace.tenantId, extensionId: namespace.extensionId };
    const get = (context: typeof request) => reads.serve(grant, context, 'storage', 'get', ['k']);
    expect(text(get(request)?.value as Uint8Array)).toBe('stored');
    expect(reads.serve(grant, request, 'storage', 'put', ['k', bytes('new')])).toBeUndefined();
    expect(get(request)).toBeUndefined();
    expect(reads.serve(grant, request, 'storage', 'listByPrefix', ['', undefined, 10])).toBeUndefined();
    const next = { ...request };
    expect(text(get(next)?.value as Uint8Array)).toBe('stored');
    expect(reads.take()).toEqual({ 'storage.get:ok': 2 });
  });
});
