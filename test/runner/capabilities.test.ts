import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sealSecrets } from '../../lib/sealed-secrets.ts';
import type { StorageEngine } from '../../runner/storage/engine.ts';
import { openLmdbStorageEngine } from '../../runner/storage/lmdb-engine.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type CallOptions, type RunnerFixture } from './support.ts';

const allGrants = ['alga.storage', 'alga.http', 'alga.secrets', 'alga.log', 'alga.metrics', 'alga.ui_proxy'];

function listen(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(`${request.method} ${request.url}`);
    handler!(request, response);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, hits })));
}

describe('runner: host capabilities', () => {
  let fixture: RunnerFixture;
  let hash: string;
  const call = async (options: Omit<CallOptions, 'hash'>) => {
    const { status, json } = await fixture.execute(executeBody({ hash, providers: allGrants, ...options }));
    expect(status).toBe(200);
    return { guest: guestJson(json), execution: json.execution };
  };

  beforeAll(async () => {
    fixture = await startFixture({ limits: { maxStorageKeys: 5, maxStorageBytes: 4096 } });
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  describe('storage', () => {
    it('keeps values per tenant: tenant A cannot read tenant B\'s keys', async () => {
      expect((await call({ path: '/storage/put', method: 'POST', query: 'key=colour', body: 'blue', tenant: 'tenant-b' })).guest).toEqual({ ok: true });
      expect((await call({ path: '/storage/get', query: 'key=colour', tenant: 'tenant-b' })).guest).toEqual({ ok: true, value: 'blue' });
      expect((await call({ path: '/storage/get', query: 'key=colour', tenant: 'tenant-a' })).guest).toEqual({ ok: true, value: null });
      expect((await call({ path: '/storage/list', query: 'prefix=', tenant: 'tenant-a' })).guest).toEqual({ ok: true, value: { keys: [], cursor: null } });
    });

    it('lists by prefix in key order with a cursor, and deletes', async () => {
      for (const key of ['item:3', 'item:1', 'item:2', 'other']) await call({ path: '/storage/put', method: 'POST', query: `key=${key}`, body: key, tenant: 'tenant-list' });
      const first = (await call({ path: '/storage/list', query: 'prefix=item:&limit=2', tenant: 'tenant-list' })).guest;
      expect(first.value).toEqual({ keys: ['item:1', 'item:2'], cursor: 'item:2' });
      const second = (await call({ path: '/storage/list', query: `prefix=item:&limit=2&cursor=${first.value.cursor}`, tenant: 'tenant-list' })).guest;
      expect(second.value).toEqual({ keys: ['item:3'], cursor: null });
      expect((await call({ path: '/storage/delete', method: 'POST', query: 'key=item:1', tenant: 'tenant-list' })).guest).toEqual({ ok: true, value: true });
      expect((await call({ path: '/storage/delete', method: 'POST', query: 'key=item:1', tenant: 'tenant-list' })).guest).toEqual({ ok: true, value: false });
    });

    it('answers limit once the key-count or byte quota is reached, and keeps what was stored', async () => {
      for (let index = 0; index < 5; index++) {
        expect((await call({ path: '/storage/put', method: 'POST', query: `key=k${index}`, body: 'x', tenant: 'tenant-quota' })).guest.ok).toBe(true);
      }
      const refused = (await call({ path: '/storage/put', method: 'POST', query: 'key=k5', body: 'x', tenant: 'tenant-quota' })).guest;
      expect(refused).toMatchObject({ ok: false, error: 'limit' });
      const tooBig = (await call({ path: '/storage/put', method: 'POST', query: 'key=k0', body: 'y'.repeat(5000), tenant: 'tenant-quota' })).guest;
      expect(tooBig).toMatchObject({ ok: false, error: 'limit' });
      expect((await call({ path: '/storage/get', query: 'key=k0', tenant: 'tenant-quota' })).guest).toEqual({ ok: true, value: 'x' });
    });
  });

  describe('storage: counters, versions, batches and purge (wit/storage.wit through a real component)', () => {
    const batch = async (tenant: string, operations: unknown[]) => (await call({ path: '/storage/batch', method: 'POST', body: JSON.stringify(operations), tenant })).guest;

    it('increments atomically from the decimal text a put stored, and refuses a value that is not an integer', async () => {
      const tenant = 'tenant-counter';
      expect((await call({ path: '/storage/increment', method: 'POST', query: 'key=n&by=5', tenant })).guest).toEqual({ ok: true, value: '5' });
      // A negative s64 as a plain parameter traps inside componentize-js guests; in a batch step it crosses.
      expect(await batch(tenant, [{ tag: 'increment', val: { key: 'n', by: '-7' } }])).toEqual({ ok: true, value: { tag: 'committed', val: [{ tag: 'increment', val: '-2' }] } });
      expect((await call({ path: '/storage/increment', method: 'POST', query: 'key=n&by=1', tenant })).guest).toEqual({ ok: true, value: '-1' });
      expect((await call({ path: '/storage/get', query: 'key=n', tenant })).guest).toEqual({ ok: true, value: '-1' });
      await call({ path: '/storage/put', method: 'POST', query: 'key=word', body: 'hello', tenant });
      const refused = (await call({ path: '/storage/increment', method: 'POST', query: 'key=word', tenant })).guest;
      expect(refused).toMatchObject({ ok: false, error: 'invalid' });
      expect(refused.message).toContain('not an integer');
    });

    it('commits a batch all or nothing: a conflict names the step and the current version, a quota refusal writes nothing', async () => {
      const tenant = 'tenant-batch';
      const created = await batch(tenant, [
        { tag: 'put', val: { key: 'a', value: 'one', expect: { tag: 'absent' } } },
        { tag: 'increment', val: { key: 'b', by: '2' } },
        { tag: 'check', val: { key: 'a', expect: { tag: 'value', val: 'one' } } },
      ]);
      expect(created).toMatchObject({ ok: true, value: { tag: 'committed', val: [{ tag: 'put' }, { tag: 'increment', val: '2' }, { tag: 'check' }] } });
      const version = created.value.val[0].val;
      expect((await call({ path: '/storage/get-versioned', query: 'key=a', tenant })).guest).toEqual({ ok: true, value: { value: 'one', version } });

      const stale = await batch(tenant, [
        { tag: 'increment', val: { key: 'b', by: '1' } },
        { tag: 'delete', val: { key: 'a', expect: { tag: 'version', val: String(BigInt(version) + 1n) } } },
      ]);
      expect(stale).toEqual({ ok: true, value: { tag: 'conflict', val: { index: 1, key: 'a', currentVersion: version } } });
      expect((await call({ path: '/storage/get', query: 'key=b', tenant })).guest).toEqual({ ok: true, value: '2' });

      // The fixture allows 5 keys: 2 stored + 4 new is over, so none of the 4 lands.
      const tooMany = await batch(tenant, ['c', 'd', 'e', 'f'].map((key) => ({ tag: 'put', val: { key, value: key } })));
      expect(tooMany).toMatchObject({ ok: false, error: 'limit' });
      expect((await call({ path: '/storage/list', query: 'prefix=', tenant })).guest.value.keys).toEqual(['a', 'b']);
      expect(await batch(tenant, [{ tag: 'delete', val: { key: 'a', expect: { tag: 'version', val: version } } }])).toEqual({ ok: true, value: { tag: 'committed', val: [{ tag: 'delete', val: true }] } });
    });

    it('answers granted reads in the guest worker: they see the latest writes, also the same request\'s, and count as host calls', async () => {
      const tenant = 'tenant-worker-reads';
      const metric = async () => Number(/runner_storage_operations_total\{operation="get",result="ok"\} (\d+)/.exec(await (await fetch(`${fixture.url}/metrics`)).text())?.[1] ?? 0);
      const before = await metric();
      for (const value of ['first', 'second']) {
        const { guest, execution } = await call({ path: '/storage/put-then-get', method: 'POST', query: 'key=doc', body: value, tenant });
        expect(guest).toEqual({ ok: true, value });
        expect(execution.host_calls).toBe(2);
      }
      const mix = await call({ path: '/storage/mix', query: 'reads=3&writes=0', tenant });
      expect(mix.execution.host_calls).toBe(3);
      expect(await metric()).toBe(before + 5);
    });

    it('runs on an engine given in the config, and withholds an answer whose writes cannot be made durable', async () => {
      const lmdb = openLmdbStorageEngine({ path: join(fixture.dataDir, 'engine-under-test') });
      let failFlush = false;
      // The LMDB engine without its worker path (so every call goes through the main thread) and with a flush that can fail.
      const engine: StorageEngine = {
        read: (namespace, key) => lmdb.read(namespace, key),
        list: (namespace, prefix, after, limit) => lmdb.list(namespace, prefix, after, limit),
        update: (namespace, keys, decide) => lmdb.update(namespace, keys, decide),
        purge: (namespace) => lmdb.purge(namespace),
        durable: async () => {
          await lmdb.durable!();
          if (failFlush) throw new Error('EIO: i/o error, fsync');
        },
        close: () => lmdb.close(),
      };
      const custom = await startFixture({ storageEngine: engine });
      try {
        const customHash = custom.publish(guestDir('misbehave'));
        const run = (path: string, query: string, method = 'GET', body?: string) => custom.execute(executeBody({ hash: customHash, path, method, query, body, providers: ['alga.storage'] }));
        expect((await run('/storage/put', 'key=k', 'POST', 'kept')).status).toBe(200);
        expect(guestJson((await run('/storage/get', 'key=k')).json)).toEqual({ ok: true, value: 'kept' });
        failFlush = true;
        const withheld = await run('/storage/put', 'key=k', 'POST', 'maybe');
        expect(withheld.status).toBe(503);
        expect(withheld.json.error.code).toBe('E_RUNNER_STORAGE_NOT_DURABLE');
        expect(withheld.json.error.message).toContain('the disk refused the write');
        expect(withheld.json.error.message).not.toContain('EIO');
        expect((await run('/storage/get', 'key=k')).status).toBe(200); // a request that wrote nothing does not wait
      } finally {
        await custom.close();
      }
    });

    it('answers a guest\'s write once decided but its request only once the commit landed: a commit that fails withholds the answer', async () => {
      const lmdb = openLmdbStorageEngine({ path: join(fixture.dataDir, 'engine-commits') });
      let failCommits = false;
      // The LMDB engine (worker reads and all) whose handed-over commits can be made to fail, as a disk refusing the write would.
      const engine: StorageEngine = {
        read: (namespace, key) => lmdb.read(namespace, key),
        list: (namespace, prefix, after, limit) => lmdb.list(namespace, prefix, after, limit),
        update: (namespace, keys, decide, committing) =>
          lmdb.update(namespace, keys, decide, committing && ((commit) => committing(failCommits ? commit.then(() => Promise.reject(new Error('EIO: i/o error, write'))) : commit))),
        purge: (namespace) => lmdb.purge(namespace),
        durable: () => lmdb.durable!(),
        workerReadPath: lmdb.workerReadPath,
        close: () => lmdb.close(),
      };
      const custom = await startFixture({ storageEngine: engine });
      try {
        const customHash = custom.publish(guestDir('misbehave'));
        const run = (path: string, query: string, method = 'GET', body?: string) => custom.execute(executeBody({ hash: customHash, path, method, query, body, providers: ['alga.storage'] }));
        const kept = await run('/storage/put-then-get', 'key=k', 'POST', 'kept');
        expect(kept.status).toBe(200);
        expect(guestJson(kept.json)).toEqual({ ok: true, value: 'kept' });
        failCommits = true;
        for (const path of ['/storage/put', '/storage/put-then-get']) {
          const withheld = await run(path, 'key=k', 'POST', 'lost');
          expect(withheld.status, path).toBe(503);
          expect(withheld.json.error.code, path).toBe('E_RUNNER_STORAGE_NOT_DURABLE');
        }
        failCommits = false;
        expect((await run('/storage/get', 'key=k')).status).toBe(200);
      } finally {
        await custom.close();
      }
    });

    it('refuses the new functions without the grant, like the old ones', async () => {
      const { guest, execution } = await call({ path: '/storage/increment', method: 'POST', query: 'key=n', providers: ['alga.log'], tenant: 'tenant-no-grant' });
      expect(guest).toMatchObject({ ok: false, error: 'denied' });
      expect(execution.denials).toEqual([{ capability: 'alga.storage', reason: 'The install was not granted alga.storage.' }]);
    });

    it('purges one tenant\'s storage of one extension through DELETE /v1/storage/{tenant}/{extension}, only with the service token', async () => {
      for (const tenant of ['tenant-gone', 'tenant-stays']) await call({ path: '/storage/put', method: 'POST', query: 'key=k', body: 'v', tenant });
      const purge = (token: string, path = '/v1/storage/tenant-gone/ext-test') => fetch(`${fixture.url}${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
      const refused = await purge('wrong-token');
      expect(refused.status).toBe(401);
      expect((await refused.json()).error.code).toBe('E_RUNNER_UNAUTHORIZED');
      expect((await call({ path: '/storage/get', query: 'key=k', tenant: 'tenant-gone' })).guest).toEqual({ ok: true, value: 'v' });
      const purged = await purge(fixture.token);
      expect(await purged.json()).toEqual({ purged: true, keys: 1 });
      expect((await call({ path: '/storage/get', query: 'key=k', tenant: 'tenant-gone' })).guest).toEqual({ ok: true, value: null });
      expect((await call({ path: '/storage/get', query: 'key=k', tenant: 'tenant-stays' })).guest).toEqual({ ok: true, value: 'v' });
      const invalid = await purge(fixture.token, `/v1/storage/${encodeURIComponent('a\u0000b')}/ext-test`);
      expect(invalid.status).toBe(400);
      expect((await invalid.json()).error.code).toBe('E_RUNNER_STORAGE_NAMESPACE_INVALID');
    });

    it('refuses every write of an install that a purge retired, even from a request admitted before it; a new install writes again', async () => {
      const tenant = 'tenant-retired';
      const purge = (query: string) => fetch(`${fixture.url}/v1/storage/${tenant}/ext-test${query}`, { method: 'DELETE', headers: { authorization: `Bearer ${fixture.token}` } });
      await call({ path: '/storage/put', method: 'POST', query: 'key=before', body: 'kept until the purge', tenant, install: 'ins-old' });
      // Admitted now, it writes only after spinning for 2 s: the purge below lands meanwhile.
      const late = call({ path: '/storage/put', method: 'POST', query: 'key=late&spin=2000', body: 'written after the purge', tenant, install: 'ins-old' });
      await new Promise((resolve) => setTimeout(resolve, 500));
      const purged = await purge('?retire_install=ins-old');
      expect(await purged.json()).toEqual({ purged: true, keys: 1 });
      expect((await late).guest).toMatchObject({ ok: false, error: 'denied' });
      expect((await call({ path: '/storage/put', method: 'POST', query: 'key=again', body: 'x', tenant, install: 'ins-old' })).guest).toMatchObject({ ok: false, error: 'denied' });
      // Installed again (a new install id): nothing of the old install is there, and it writes.
      for (const key of ['before', 'late', 'again']) expect((await call({ path: '/storage/get', query: `key=${key}`, tenant, install: 'ins-new' })).guest).toEqual({ ok: true, value: null });
      expect((await call({ path: '/storage/put', method: 'POST', query: 'key=fresh', body: 'new', tenant, install: 'ins-new' })).guest).toEqual({ ok: true });
      // A reset that names no install leaves the install writing.
      expect(await (await purge('')).json()).toEqual({ purged: true, keys: 1 });
      expect((await call({ path: '/storage/put', method: 'POST', query: 'key=fresh', body: 'newer', tenant, install: 'ins-new' })).guest).toEqual({ ok: true });
      for (const bad of ['?retire_install=', `?retire_install=${encodeURIComponent('a b')}`, '?retire_install=a&retire_install=b']) {
        const refused = await purge(bad);
        expect({ bad, status: refused.status, code: (await refused.json()).error.code }).toEqual({ bad, status: 400, code: 'E_RUNNER_STORAGE_NAMESPACE_INVALID' });
      }
      expect((await call({ path: '/storage/get', query: 'key=fresh', tenant, install: 'ins-new' })).guest).toEqual({ ok: true, value: 'newer' });
    });
  });

  describe('secrets', () => {
    it('opens the sealed envelope only when alga.secrets is granted', async () => {
      const envelope = sealSecrets({ api_key: 'sk-live-123' }, fixture.runnerKeys.publicKey);
      const granted = await call({ path: '/secret', query: 'name=api_key', secretEnvelope: envelope, requestId: 'req-secret' });
      expect(granted.guest).toEqual({ ok: true, value: 'sk-live-123' });
      const missing = await call({ path: '/secret', query: 'name=other', secretEnvelope: envelope });
      expect(missing.guest).toEqual({ ok: true, value: null });
      const denied = await call({ path: '/secret', query: 'name=api_key', secretEnvelope: envelope, providers: ['alga.log'] });
      expect(denied.guest).toMatchObject({ ok: false, error: 'denied' });
      const events = JSON.stringify(fixture.runner.events.recent());
      expect(events).not.toContain('sk-live-123');
    });

    it('opens secrets sealed one by one (the host seals each install secret on its own); a later envelope wins', async () => {
      const older = sealSecrets({ api_key: 'sk-old', region: 'eu' }, fixture.runnerKeys.publicKey);
      const each = [sealSecrets({ api_key: 'sk-new' }, fixture.runnerKeys.publicKey), sealSecrets({ webhook: 'wh-1' }, fixture.runnerKeys.publicKey)];
      const read = async (name: string) => (await call({ path: '/secret', query: `name=${name}`, secretEnvelope: older, secretEnvelopes: each })).guest;
      expect(await read('api_key')).toEqual({ ok: true, value: 'sk-new' });
      expect(await read('region')).toEqual({ ok: true, value: 'eu' });
      expect(await read('webhook')).toEqual({ ok: true, value: 'wh-1' });
      const refused = await fixture.execute(executeBody({ hash, providers: allGrants, path: '/secret', secretEnvelopes: { not: 'a list' } as unknown as unknown[] }));
      expect(refused).toMatchObject({ status: 400, json: { error: { code: 'E_RUNNER_BAD_REQUEST' } } });
    });

    it('reports unavailable for an envelope sealed to another key', async () => {
      const foreign = sealSecrets({ api_key: 'x' }, Buffer.alloc(32, 7).toString('base64'));
      expect((await call({ path: '/secret', query: 'name=api_key', secretEnvelope: foreign })).guest).toMatchObject({ ok: false, error: 'unavailable' });
    });
  });

  describe('http egress', () => {
    it('refuses a host that is not on both allowlists', async () => {
      const notInstall = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://example.invalid/')}`, egress: [] });
      expect(notInstall.guest).toMatchObject({ ok: false, error: 'denied' });
      expect(notInstall.guest.message).toContain("install's egress list");
      const notManifest = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://api.example.com/')}`, egress: ['api.example.com'] });
      expect(notManifest.guest).toMatchObject({ ok: false, error: 'denied' });
      expect(notManifest.guest.message).toContain("extension's egress list");
      expect(notManifest.execution.denials[0].capability).toBe('alga.http');
    });

    it('refuses 127.0.0.1 and names that resolve to loopback, even when allowlisted', async () => {
      const target = await listen((_request, response) => response.end('secret internal page'));
      try {
        for (const host of ['127.0.0.1', 'localhost']) {
          const result = await call({ path: '/fetch', query: `url=${encodeURIComponent(`http://${host}:${target.port}/internal`)}`, egress: ['127.0.0.1', 'localhost'] });
          expect(result.guest).toMatchObject({ ok: false, error: 'denied' });
          expect(result.guest.message).toMatch(/loopback, link-local or private/);
          expect(result.guest.message).toMatch(new RegExp(`^${host} resolves to (127\\.0\\.0\\.1 \\(127\\.0\\.0\\.0/8, loopback\\)|::1 \\(::1, loopback\\))`));
          expect(result.guest.message).toContain('RUNNER_EGRESS_ALLOW_PRIVATE=1');
        }
        expect(target.hits).toEqual([]);
      } finally {
        target.server.close();
      }
    });

    it('says why a name does not resolve', async () => {
      const result = await call({ path: '/fetch', query: `url=${encodeURIComponent('http://example.invalid/')}`, egress: ['example.invalid'] });
      expect(result.guest).toMatchObject({ ok: false, error: 'unavailable' });
      expect(result.guest.message).toMatch(/^example\.invalid could not be resolved: (DNS has no such name \(ENOTFOUND\)|the DNS resolver did not answer)/);
    });

    it('fetches from an allowlisted local server when the operator allows private egress, counting bytes and capping size', async () => {
      const permissive = await startFixture({ egressAllowPrivate: true, limits: { maxEgressBytes: 10_000 } });
      const target = await listen((request, response) => response.end(request.url === '/big' ? 'z'.repeat(20_000) : 'pong from local'));
      try {
        const localHash = permissive.publish(guestDir('misbehave'));
        const fetchPath = async (path: string) => {
          const { status, json } = await permissive.execute(
            executeBody({ hash: localHash, path: '/fetch', query: `url=${encodeURIComponent(`http://127.0.0.1:${target.port}${path}`)}`, providers: ['alga.http'], egress: ['127.0.0.1'] }),
          );
          expect(status).toBe(200);
          return json;
        };
        const ok = await fetchPath('/ping');
        expect(guestJson(ok)).toEqual({ ok: true, value: { status: 200, body: 'pong from local' } });
        expect(ok.execution.egress_bytes).toBe('pong from local'.length);
        const big = await fetchPath('/big');
        expect(guestJson(big)).toMatchObject({ ok: false, error: 'limit' });
        expect(target.hits).toEqual(['GET /ping', 'GET /big']);

        // Entries with a port reach that port only; [IPv6] entries match the address however it is written.
        const other = await listen((_request, response) => response.end('other port'));
        const v6 = createServer((_request, response) => response.end('pong over IPv6'));
        await new Promise<void>((resolve) => v6.listen(0, '::1', resolve));
        const v6Port = (v6.address() as AddressInfo).port;
        try {
          const fetchUrl = async (url: string, egress: string[]) => {
            const { json } = await permissive.execute(executeBody({ hash: localHash, path: '/fetch', query: `url=${encodeURIComponent(url)}`, providers: ['alga.http'], egress }));
            return guestJson(json);
          };
          const portEntry = [`127.0.0.1:${target.port}`];
          expect(await fetchUrl(`http://127.0.0.1:${target.port}/ping`, portEntry)).toEqual({ ok: true, value: { status: 200, body: 'pong from local' } });
          const elsewhere = await fetchUrl(`http://127.0.0.1:${other.port}/ping`, portEntry);
          expect(elsewhere).toMatchObject({ ok: false, error: 'denied' });
          expect(elsewhere.message).toContain(`127.0.0.1:${other.port} is not in the install's egress list`);
          expect(other.hits).toEqual([]);
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, [`[0:0::1]:${v6Port}`])).toEqual({ ok: true, value: { status: 200, body: 'pong over IPv6' } });
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, ['[::1]'])).toEqual({ ok: true, value: { status: 200, body: 'pong over IPv6' } });
          expect(await fetchUrl(`http://[::1]:${v6Port}/`, [`[::1]:${v6Port + 1}`])).toMatchObject({ ok: false, error: 'denied' });
        } finally {
          other.server.close();
          v6.close();
        }
      } finally {
        target.server.close();
        await permissive.close();
      }
    });
  });

  describe('logging, metrics and ui-proxy', () => {
    it('tags guest logs with tenant, extension and request id, and exports guest metrics', async () => {
      const result = await call({ path: '/log', query: 'message=checkout%20done', requestId: 'req-log', tenant: 'tenant-log' });
      expect(result.guest).toEqual({ log: { ok: true }, counter: { ok: true }, histogram: { ok: true } });
      const event = fixture.runner.events.recent({ tenant: 'tenant-log' }).find((entry) => entry.stream === 'log' && entry.request === 'req-log');
      expect(event).toMatchObject({ level: 'info', tenant: 'tenant-log', extension: 'ext-test', message: 'checkout done {"route":"/log"}' });
      const metrics = await (await fetch(`${fixture.url}/metrics`)).text();
      expect(metrics).toContain('runner_guest_counter_total{extension="ext-test",name="probe_calls",labels="route=/log"} 1');
      expect(metrics).toMatch(/runner_guest_log_events_total\{level="info"\} [1-9]/);
    });

    it('denies logging without the grant', async () => {
      const result = await call({ path: '/log', providers: [] });
      expect(result.guest.log).toMatchObject({ ok: false, error: 'denied' });
      expect(result.guest.counter).toMatchObject({ ok: false, error: 'denied' });
    });

    it('calls the configured host route through ui-proxy only when granted', async () => {
      const host = await listen((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => response.end(`host saw ${request.headers['x-alga-tenant']} ${request.headers.authorization} ${body}`));
      });
      const proxied = await startFixture({ uiProxy: { baseUrl: `http://127.0.0.1:${host.port}`, authKey: 'proxy-key' } });
      try {
        const proxyHash = proxied.publish(guestDir('misbehave'));
        const request = (providers: string[]) =>
          proxied.execute(executeBody({ hash: proxyHash, path: '/ui-proxy', method: 'POST', query: 'route=tickets/list', body: 'hi', providers, uiProxy: { route_base: '/api/ui' } }));
        const granted = await request(['alga.ui_proxy']);
        expect(guestJson(granted.json)).toEqual({ ok: true, value: 'host saw tenant-a Bearer proxy-key hi' });
        expect(host.hits).toEqual(['POST /api/ui/tickets/list']);
        const denied = await request([]);
        expect(guestJson(denied.json)).toMatchObject({ ok: false, error: 'denied' });
        expect(host.hits).toHaveLength(1);
      } finally {
        host.server.close();
        await proxied.close();
      }
    });

    it('answers limit when the host route answers more than the response limit, without reading it all', async () => {
      const chunk = Buffer.alloc(64 * 1024, 'z');
      const routeSize = 256 * 1048576;
      let streamed: Promise<{ sent: number; finished: boolean }> = Promise.resolve({ sent: 0, finished: false });
      const host = await listen((request, response) => {
        if (request.url?.endsWith('/declared')) {
          response.setHeader('content-length', 5_000);
          response.end('d'.repeat(5_000));
          return;
        }
        streamed = new Promise((resolve) => {
          let sent = 0;
          const pump = () => {
            while (sent < routeSize && !response.destroyed) {
              sent += chunk.length;
              if (!response.write(chunk)) return;
            }
            if (sent >= routeSize) response.end();
          };
          response.on('drain', pump);
          response.on('close', () => resolve({ sent, finished: response.writableFinished }));
          pump();
        });
      });
      const proxied = await startFixture({ uiProxy: { baseUrl: `http://127.0.0.1:${host.port}`, maxResponseBytes: 4_000 } });
      try {
        const proxyHash = proxied.publish(guestDir('misbehave'));
        const callRoute = async (route: string, limits: Record<string, number> = {}) => {
          const { status, json } = await proxied.execute(executeBody({ hash: proxyHash, path: '/ui-proxy', method: 'POST', query: `route=${route}`, providers: ['alga.ui_proxy'], limits }));
          expect(status).toBe(200);
          return guestJson(json);
        };

        const streamedAnswer = await callRoute('huge', { max_response_bytes: 1_000_000 });
        expect(streamedAnswer).toMatchObject({ ok: false, error: 'limit' });
        expect(streamedAnswer.message).toContain('more than 4000 bytes');
        const route = await streamed;
        expect(route.finished).toBe(false);
        expect(route.sent).toBeLessThan(routeSize);

        const declared = await callRoute('declared', { max_response_bytes: 1_000_000 });
        expect(declared).toMatchObject({ ok: false, error: 'limit' });

        const small = await callRoute('huge', { max_response_bytes: 1_000 });
        expect(small).toMatchObject({ ok: false, error: 'limit' });
        expect(small.message).toContain('more than 1000 bytes');

        const metrics = await (await fetch(`${proxied.url}/metrics`)).text();
        expect(metrics).toContain('runner_ui_proxy_calls_total{result="limit"} 3');
      } finally {
        host.server.closeAllConnections();
        host.server.close();
        await proxied.close();
      }
    });
  });
});

// A guest's storage `get` and `put`, `logging.log` and `metrics.*` are handed to its core module
// without jco's trampolines (runner/pool/direct-host-imports.ts): every shape of their arguments
// and answers must cross as before.
describe('runner: host imports lowered into the guest directly', () => {
  let fixture: RunnerFixture;
  let hash: string;
  const call = async (options: Omit<CallOptions, 'hash'>) => {
    const { status, json } = await fixture.execute(executeBody({ hash, providers: ['alga.storage', 'alga.log', 'alga.metrics'], tenant: 'tenant-direct', ...options }));
    expect(status).toBe(200);
    return { guest: guestJson(json), execution: json.execution };
  };
  const put = async (key: string, body: string) => expect((await call({ path: '/storage/put', method: 'POST', query: `key=${encodeURIComponent(key)}`, body })).guest).toEqual({ ok: true });

  beforeAll(async () => {
    fixture = await startFixture();
    hash = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  it('gives a value, an empty value, a missing key and a non-ASCII key their own answers', async () => {
    await put('plain', 'value');
    await put('empty', '');
    await put('clé ✓', 'unicode key');
    expect((await call({ path: '/storage/get', query: 'key=plain' })).guest).toEqual({ ok: true, value: 'value' });
    expect((await call({ path: '/storage/get', query: 'key=empty' })).guest).toEqual({ ok: true, value: '' });
    expect((await call({ path: '/storage/get', query: 'key=absent' })).guest).toEqual({ ok: true, value: null });
    expect((await call({ path: '/storage/get', query: `key=${encodeURIComponent('clé ✓')}` })).guest).toEqual({ ok: true, value: 'unicode key' });
  });

  it('gives refusals as the WIT error case with its message', async () => {
    expect((await call({ path: '/storage/get', query: 'key=' })).guest).toEqual({ ok: false, error: 'invalid', message: 'A storage key must be a non-empty string.' });
    expect((await call({ path: '/storage/put', method: 'POST', query: 'key=', body: 'x' })).guest).toEqual({ ok: false, error: 'invalid', message: 'A storage key must be a non-empty string.' });
    expect((await call({ path: '/storage/put', method: 'POST', query: 'key=big', body: 'x'.repeat(1048577) })).guest).toEqual({ ok: false, error: 'limit', message: 'A value may be at most 1048576 bytes.' });
    expect((await call({ path: '/storage/get', query: 'key=big' })).guest).toEqual({ ok: true, value: null });
    expect((await call({ path: '/storage/get', query: `key=${'k'.repeat(600)}` })).guest).toEqual({ ok: false, error: 'invalid', message: 'A storage key must be at most 512 bytes.' });
    for (const [path, method] of [['/storage/get', 'GET'], ['/storage/put', 'POST']]) {
      const denied = await fixture.execute(executeBody({ hash, path, method, query: 'key=plain', body: 'x', providers: ['alga.log'], tenant: 'tenant-direct' }));
      expect(guestJson(denied.json)).toMatchObject({ ok: false, error: 'denied' });
    }
    expect((await call({ path: '/storage/get', query: 'key=plain' })).guest).toEqual({ ok: true, value: 'value' });
  });

  it('logs at every level with its fields, and reports fractional metrics with their labels', async () => {
    const { guest } = await call({ path: '/log/levels', requestId: 'req-levels' });
    expect(guest).toEqual({
      logs: [{ ok: true }, { ok: true }, { ok: true }, { ok: true }],
      counter: { ok: true },
      histogram: { ok: true },
      invalid: { ok: false, error: 'invalid', message: 'A metric name must match [a-z_][a-z0-9_]{0,63}.' },
    });
    const logged = fixture.runner.events.recent({ tenant: 'tenant-direct' }).filter((event) => event.request === 'req-levels' && event.stream === 'log');
    expect(logged.map(({ level, message }) => ({ level, message }))).toEqual(
      ['debug', 'info', 'warn', 'error'].map((level) => ({ level, message: `${level}: café ✓ {"a":"1","b":"ü"}` })),
    );
    const metrics = await (await fetch(`${fixture.url}/metrics`)).text();
    expect(metrics).toContain('runner_guest_counter_total{extension="ext-test",name="levels_total",labels="kind=x,zone=ü"} 0.5');
    expect(metrics).toContain('runner_guest_histogram_sum{extension="ext-test",name="levels_seconds",labels="kind=x"} 0.25');
  });

  it('writes and reads values large enough to grow the guest memory while they are copied in', async () => {
    const megabyte = (index: number) => `${index}`.padEnd(1048576, String.fromCharCode(97 + index));
    for (let index = 0; index < 10; index++) await put(`mix:${index}`, megabyte(index));
    const before = (await call({ path: '/storage/get', query: 'key=plain' })).execution.memory_bytes;
    const { guest, execution } = await call({ path: '/storage/mix', query: 'reads=10&writes=0' });
    expect(guest).toEqual({ found: 10 });
    expect(execution.memory_bytes).toBeGreaterThan(before);
    // Turning a megabyte into a string and back to JSON takes the guest more than its default memory.
    for (const index of [0, 9]) expect((await call({ path: '/storage/get', query: `key=mix:${index}`, limits: { memory_mb: 256 } })).guest).toEqual({ ok: true, value: megabyte(index) });
  });
});
