import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlgaError, type AlgaError } from '../../lib/errors/index.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { DecodedReads } from '../../host/core/decoded-reads.ts';
import { bundleChunkBytes, postgresBundleBlobs } from '../../host/core/postgres/bundle-blobs.ts';
import { openPostgresStore, sqlStoreOf } from '../../host/core/postgres/postgres-store.ts';
import { contentHashOf } from '../../lib/bundle/index.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import type { Key, StoreRangeOptions } from '../../host/core/store-database.ts';
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts';
import { tempDir } from './temp-dir.ts';

/**
 * The host store contract, run against both engines: LMDB (embedded) and PostgreSQL (fleet).
 * Code written against one must behave the same on the other: atomic transactions, the same
 * key order in ranges, the same values back, the same migrations.
 */

let database: TestDatabase;
const dir = tempDir('alga-store-engines-');
const opened: HostStore[] = [];

function lmdb(name: string): HostStore {
  const store = openStore(`${dir.path}/${name}`);
  opened.push(store);
  return store;
}

function postgres(): HostStore {
  const store = openPostgresStore({ url: database.url, applicationName: 'alga-test' });
  opened.push(store);
  return store;
}

beforeAll(async () => {
  database = await createTestDatabase('store_engines');
});

afterAll(async () => {
  for (const store of opened) await store.close();
  await database?.drop();
  dir.remove();
});

const engines: Array<[string, (name: string) => HostStore]> = [
  ['LMDB', lmdb],
  ['PostgreSQL', () => postgres()],
];

describe.each(engines)('host store contract on %s', (engine, open) => {
  it('commits every write of a transaction together, and none when it throws', () => {
    const store = open(`tx-${engine}`);
    const db = store.db<number, string>(`contract-${engine}.tx`);
    store.transaction(() => {
      db.putSync('a', 1);
      db.putSync('b', 2);
    });
    expect(() =>
      store.transaction(() => {
        db.putSync('a', 10);
        db.putSync('c', 3);
        expect(db.get('a')).toBe(10); // a transaction reads its own writes
        throw new Error('half-way');
      }),
    ).toThrow('half-way');
    expect([db.get('a'), db.get('b'), db.get('c')]).toEqual([1, 2, undefined]);
    // A nested transaction is part of the outer one.
    expect(() =>
      store.transaction(() => {
        store.transaction(() => db.putSync('d', 4));
        throw new Error('outer fails');
      }),
    ).toThrow('outer fails');
    expect(db.get('d')).toBeUndefined();
    expect(db.removeSync('b')).toBe(true);
    expect(db.removeSync('b')).toBe(false);
  });

  it('gives values back as they were written', () => {
    const store = open(`values-${engine}`);
    const db = store.db<unknown, string>(`contract-${engine}.values`);
    const record = { id: 'x', nested: { list: [1, 'two', null, { three: 3.5 }] }, when: '2030-01-01T00:00:00.000Z', empty: '', flag: false, text: 'grüße ☃ \u0000 end', missing: undefined };
    db.putSync('record', record);
    db.putSync('bytes', new Uint8Array([0, 1, 254, 255]));
    db.putSync('number', -12.25);
    expect(db.get('record')).toEqual(record);
    expect(Buffer.from(db.get('bytes') as Uint8Array)).toEqual(Buffer.from([0, 1, 254, 255]));
    expect(db.get('number')).toBe(-12.25);
  });

  it('runs forward migrations once, in order, and refuses a store from a newer version', () => {
    const store = open(`migrations-${engine}`);
    const ran: number[] = [];
    const area = `m-${engine}`;
    const migrations = [
      { version: 2, description: 'second', up: (s: HostStore) => { ran.push(2); s.db<string, string>(`${area}.items`).putSync('k', 'v2'); } },
      { version: 1, description: 'first', up: (s: HostStore) => { ran.push(1); s.db<string, string>(`${area}.items`).putSync('k', 'v1'); } },
    ];
    store.migrate(area, migrations);
    store.migrate(area, migrations);
    expect(ran).toEqual([1, 2]);
    expect(store.schemaVersion(area)).toBe(2);
    expect(store.db<string, string>(`${area}.items`).get('k')).toBe('v2');
    expect(() => store.migrate(area, migrations.slice(1, 2))).toThrow(/newer version/);
  });
});

describe('both engines sort keys and bound ranges alike', () => {
  const keys: Key[] = [
    'a', 'b', 'ba', 'z', '', 'Ü', '\uffff',
    ['acme', 'com.example.hello', 5], ['acme', 'com.example.hello', 10], ['acme', 'com.example.hello', 1_700_000_000_000],
    ['acme', 'com.example.kv'], ['acme', 'com.example.kv', 'x'], ['beta', 'one'], ['acme'],
    [1_700_000_000_000, 3], [1_700_000_000_001, 0], [5, 1], [-1, 0],
    0, 1, -5, 2.5, 1e12,
  ];
  const ranges: StoreRangeOptions[] = [
    {},
    { reverse: true },
    { limit: 3 },
    { reverse: true, limit: 4, offset: 1 },
    { start: ['acme'], end: ['acme', '\uffff'] },
    { start: ['acme', 'com.example.hello', 100], end: ['acme', 'com.example.hello', 0], reverse: true },
    { start: [Number.MAX_SAFE_INTEGER], end: [1_700_000_000_000], reverse: true },
    { start: 'b', end: 'z' },
    { start: 'b', end: 'z', inclusiveEnd: true },
    { start: 'b', exclusiveStart: true, limit: 2 },
    { start: 0, end: 100 },
  ];

  it('returns the same entries, in the same order, for the ranges the host uses', () => {
    const embedded = lmdb('ranges');
    const fleet = postgres();
    for (const store of [embedded, fleet]) {
      const db = store.db<string, Key>('contract.ranges');
      store.transaction(() => keys.forEach((key, index) => db.putSync(key, `v${index}`)));
    }
    for (const range of ranges) {
      const expected = [...embedded.db<string, Key>('contract.ranges').getRange(range)].map(({ key, value }) => ({ key, value }));
      const actual = [...fleet.db<string, Key>('contract.ranges').getRange(range)];
      expect(actual, JSON.stringify(range)).toEqual(expected);
      expect([...fleet.db<string, Key>('contract.ranges').getKeys(range)]).toEqual(expected.map(({ key }) => key));
    }
    expect(ranges.every((range) => [...embedded.db('contract.ranges').getRange(range)].length > 0)).toBe(true);
  });

  it('pages through a range longer than one statement reads', () => {
    const fleet = postgres();
    const db = fleet.db<number, [string, number]>('contract.pages');
    fleet.transaction(() => {
      for (let index = 0; index < 1_234; index++) db.putSync(['page', index], index);
    });
    expect([...db.getRange({ start: ['page'], end: ['page', Infinity] })].map(({ value }) => value)).toEqual(Array.from({ length: 1_234 }, (_, index) => index));
    expect([...db.getRange({ reverse: true, limit: 700 })].at(-1)?.value).toBe(534);
  });
});

describe('PostgreSQL engine across nodes', () => {
  it('makes a read-then-write transaction a conditional update: the one that lost is run again and sees the winner', () => {
    // Two stores on one database are two nodes. B's whole claim commits while A's is between its read and its write.
    const nodeA = postgres();
    const nodeB = postgres();
    const claimOf = (store: HostStore) => store.db<{ by: string }, string>('race.claim');
    const claim = (store: HostStore, by: string, meanwhile?: () => void): string =>
      store.transaction(() => {
        const current = claimOf(store).get('state');
        meanwhile?.();
        if (current) return `lost to ${current.by}`;
        claimOf(store).putSync('state', { by });
        return 'won';
      });
    let attemptsOfA = 0;
    const outcomeA = claim(nodeA, 'A', () => {
      attemptsOfA++;
      if (attemptsOfA === 1) expect(claim(nodeB, 'B')).toBe('won');
    });
    expect(outcomeA).toBe('lost to B');
    expect(attemptsOfA).toBe(2);
    expect(claimOf(nodeA).get('state')).toEqual({ by: 'B' });
  });

  it('gives the gateway\'s shared reads the same frozen record until another node changes it', () => {
    const nodeA = postgres();
    const nodeB = postgres();
    const reads = new DecodedReads(nodeA.db<{ limit: number }, string>('shared.installs'));
    nodeB.db<{ limit: number }, string>('shared.installs').putSync('acme', { limit: 1 });
    const first = reads.get('acme', 'acme');
    expect(first).toEqual({ limit: 1 });
    expect(Object.isFrozen(first)).toBe(true);
    expect(reads.get('acme', 'acme')).toBe(first);
    nodeB.db<{ limit: number }, string>('shared.installs').putSync('acme', { limit: 2 });
    expect(reads.get('acme', 'acme')).toEqual({ limit: 2 });
    nodeB.db('shared.installs').removeSync('acme');
    expect(reads.get('acme', 'acme')).toBeUndefined();
  });

  it('shows a write made on one node to the next read on another', () => {
    const nodeA = postgres();
    const nodeB = postgres();
    nodeA.db<string, string>('shared.sessions').putSync('s1', 'alive');
    expect(nodeB.db<string, string>('shared.sessions').get('s1')).toBe('alive');
    expect(nodeB.db<string, string>('shared.sessions').removeSync('s1')).toBe(true);
    expect(nodeA.db<string, string>('shared.sessions').get('s1')).toBeUndefined();
    expect(nodeA.health?.()).toBe('up');
  });

  it('answers E_DATABASE_UNAVAILABLE while the database is away, reports it, and recovers when it is back', async () => {
    // A TCP relay to PostgreSQL in a process of its own (this thread blocks on store calls), which the
    // test stops and starts again, as a network partition or a database restart would.
    const target = new URL(database.url);
    const port = await freePort();
    const relayScript = `const net = require('node:net');
      net.createServer((client) => {
        const server = net.connect(${Number(target.port || 5432)}, ${JSON.stringify(target.hostname)});
        client.on('error', () => server.destroy()); server.on('error', () => client.destroy());
        client.pipe(server).pipe(client);
      }).listen(${port}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
    const startRelay = async (): Promise<ChildProcess> => {
      const relay = spawn(process.execPath, ['-e', relayScript], { stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((resolve) => relay.stdout!.once('data', () => resolve()));
      return relay;
    };
    let relay = await startRelay();
    const store = openPostgresStore({ url: `postgres://postgres@127.0.0.1:${port}${target.pathname}`, healthIntervalMs: 200 });
    opened.push(store);
    const db = store.db<string, string>('outage.values');
    db.putSync('before', 'written');

    relay.kill('SIGKILL');
    await new Promise((resolve) => relay.once('exit', resolve));
    let caught: unknown;
    try {
      db.get('before');
    } catch (error) {
      caught = error;
    }
    expect(isAlgaError(caught, 'E_DATABASE_UNAVAILABLE')).toBe(true);
    expect((caught as AlgaError).status).toBe(503);
    expect(store.health?.()).toBe('down');
    expect(() => store.transaction(() => db.putSync('during', 'lost'))).toThrow(/database/i);

    relay = await startRelay();
    try {
      expect(db.get('before')).toBe('written');
      expect(db.get('during')).toBeUndefined();
      expect(store.health?.()).toBe('up');
    } finally {
      relay.kill('SIGKILL');
    }
  });

  it('keeps bundle bytes by hash where every node reads them, checked against the hash before a node caches them', () => {
    const nodeA = sqlStoreOf(postgres())!;
    const nodeB = sqlStoreOf(postgres())!;
    const blobsA = postgresBundleBlobs(nodeA, `${dir.path}/cache-a`);
    const blobsB = postgresBundleBlobs(nodeB, `${dir.path}/cache-b`);
    const bytes = new Uint8Array(bundleChunkBytes * 2 + 123).map((_, index) => index % 251);
    const hash = contentHashOf(bytes);
    const signatureFile = { version: 1, signatures: [{ keyId: 'k', signature: 's' }] };
    expect(blobsB.has(hash)).toBe(false);
    blobsA.write(hash, bytes, signatureFile);
    expect(blobsB.has(hash)).toBe(true);
    expect(Buffer.from(blobsB.read(hash)!).equals(Buffer.from(bytes))).toBe(true);
    expect(blobsB.readSignatureFile(hash)).toEqual(signatureFile);
    expect(existsSync(blobsB.localPath(hash)!)).toBe(true);
    // Bytes that do not match their hash are refused and never cached.
    const other = new Uint8Array([1, 2, 3]);
    const otherHash = contentHashOf(other);
    blobsA.write(otherHash, other, undefined);
    nodeA.query({ text: 'UPDATE alga_bundle_chunks SET bytes = $2 WHERE hash = $1', values: [otherHash, new Uint8Array([9, 9, 9])] });
    const cacheC = postgresBundleBlobs(nodeB, `${dir.path}/cache-c`);
    expect(() => cacheC.read(otherHash)).toThrow(/do not match/);
    expect(existsSync(`${dir.path}/cache-c/sha256`)).toBe(false);
    blobsA.remove(otherHash);
    expect(blobsB.has(otherHash)).toBe(false);
  });

  it('refuses to open an unreachable database with a catalog error that names it without the password', () => {
    let caught: unknown;
    try {
      openPostgresStore({ url: 'postgres://alga:hunter2-secret@127.0.0.1:1/nowhere', connectTimeoutMs: 1_000 });
    } catch (error) {
      caught = error;
    }
    expect(isAlgaError(caught, 'E_DATABASE_UNREACHABLE')).toBe(true);
    expect((caught as Error).message).toContain('127.0.0.1:1/nowhere');
    expect((caught as Error).message).toContain('ECONNREFUSED');
    expect((caught as Error).message).not.toContain('hunter2');
  });
});
