import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashToken } from '../../host/core/auth/api-tokens.ts';
import { Sessions, type SessionRecord } from '../../host/core/auth/sessions.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { tempDir } from './temp-dir.ts';

/** Expired sessions are deleted by a sweep (at start, then hourly), not only when presented. */

const sessionsDb = (store: HostStore) => store.db<SessionRecord, string>('core.sessions');

function putExpired(store: HostStore, count: number): string[] {
  const keys = Array.from({ length: count }, () => hashToken(randomBytes(32).toString('base64url')));
  const past = new Date(Date.now() - 60_000).toISOString();
  store.transaction(() => {
    for (const key of keys) sessionsDb(store).putSync(key, { userId: 'usr_gone', createdAt: past, expiresAt: past });
  });
  return keys;
}

const sessionKeys = (store: HostStore) => [...sessionsDb(store).getKeys({})];

describe('Sessions.sweepExpired', () => {
  let dir: ReturnType<typeof tempDir>;
  let store: HostStore;
  beforeEach(() => {
    dir = tempDir('alga-sweep-');
    store = openStore(dir.path);
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('deletes every expired session across several batches and keeps the live ones', async () => {
    const sessions = new Sessions(store);
    const live = Array.from({ length: 4 }, () => sessions.create('usr_live').id);
    putExpired(store, 10);
    expect(await sessions.sweepExpired({ batchSize: 3 })).toBe(10);
    expect(sessionKeys(store).sort()).toEqual(live.map(hashToken).sort());
    for (const id of live) expect(sessions.resolve(id)?.userId).toBe('usr_live');
    expect(await sessions.sweepExpired({ batchSize: 3 })).toBe(0);
  });

  it('stops between batches when asked', async () => {
    putExpired(store, 10);
    let batches = 0;
    const deleted = await new Sessions(store).sweepExpired({ batchSize: 4, shouldStop: () => batches++ >= 1 });
    expect(deleted).toBe(4);
    expect(sessionKeys(store)).toHaveLength(6);
  });
});

describe('the host sweeps expired sessions', () => {
  let h: InProcessHost | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('deletes expired rows on a pass, keeps the live session signed in, and stops the timer on close', async () => {
    h = await inProcessHost();
    const inject = h.host.app.inject.bind(h.host.app);
    await inject({ method: 'POST', url: '/api/admin/users', headers: bearer(h.adminToken), payload: { username: 'grace', password: 'a long enough passphrase', role: 'admin' } });
    const login = await inject({ method: 'POST', url: '/api/auth/login', payload: { username: 'grace', password: 'a long enough passphrase' } });
    const cookies = { alga_session: login.cookies.find((c) => c.name === 'alga_session')!.value };
    const [liveKey] = sessionKeys(h.store);
    const expired = putExpired(h.store, 1_200);

    expect(h.host.sessionSweep.scheduled).toBe(true);
    expect(await h.host.sessionSweep.runNow()).toBe(expired.length);
    expect(sessionKeys(h.store)).toEqual([liveKey]);
    const me = await inject({ method: 'GET', url: '/api/auth/me', cookies });
    expect(me.statusCode).toBe(200);
    expect(me.json().principal).toMatchObject({ kind: 'user', name: 'grace' });

    const host = h;
    h = undefined;
    await host.close();
    expect(host.host.sessionSweep.scheduled).toBe(false);
  });

  it('runs a pass when the host starts', async () => {
    const dir = tempDir('alga-sweep-start-');
    try {
      const first = await inProcessHost({ dataDir: dir.path });
      putExpired(first.store, 25);
      await first.close();

      h = await inProcessHost({ dataDir: dir.path });
      for (const deadline = Date.now() + 20_000; sessionKeys(h.store).length > 0 && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(sessionKeys(h.store)).toEqual([]);
    } finally {
      await h?.close();
      h = undefined;
      dir.remove();
    }
  });
});
