import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encryptValue, type EncryptionKeys } from '../../host/core/secrets/encryption.ts';
import { openStore, type HostStore } from '../../host/core/store.ts';
import { backoffMs, checkInOnce, startCheckinSchedule } from '../../host/plugins/appliance/checkin.ts';
import { applianceId, readLicenseState, writeLicenseState } from '../../host/plugins/appliance/license-state.ts';
import { signLicenseToken, toJwks } from '../../host/plugins/license/license-token.ts';

const keyring: EncryptionKeys = { activeKeyId: 'ek-test', keys: { 'ek-test': randomBytes(32) } };
const quiet = { info() {}, warn() {} };
const signing = generateKeyPairSync('ed25519');
let dir: string;
let store: HostStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'alga-checkin-'));
  store = openStore(dir);
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

function seed(checkInUrl: string) {
  store.transaction(() =>
    writeLicenseState(store, {
      tenantId: 'tnt_1',
      edition: 'pro',
      credential: encryptValue('alga_a_credential', keyring),
      checkInUrl,
      jwks: toJwks([{ keyId: 'lk-1', publicKey: signing.publicKey }]),
      registeredAt: new Date().toISOString(),
      checkinFailures: 0,
    }),
  );
}

describe('license check-in', () => {
  it('backs off exponentially from the minimum up to the interval', () => {
    const options = { intervalMs: 86_400_000, minBackoffMs: 60_000 };
    expect([1, 2, 3, 4].map((failures) => backoffMs(failures, options))).toEqual([60_000, 120_000, 240_000, 480_000]);
    expect(backoffMs(40, options)).toBe(86_400_000);
  });

  it('stores a fresh verified JWT, counts failures with backoff, and refuses a forged one', async () => {
    let answer: (applianceId: string) => { status: number; body: unknown } = () => ({ status: 500, body: {} });
    let seenAuthorization = '';
    const server = createServer((req, res) => {
      seenAuthorization = req.headers.authorization ?? '';
      const { status, body } = answer(applianceId(store));
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/checkin`;
    try {
      seed(url);
      const options = { store, encryptionKeys: keyring, intervalMs: 86_400_000, minBackoffMs: 60_000, log: quiet };
      const failed = await checkInOnce(options);
      expect(failed).toMatchObject({ checkinFailures: 1, lastCheckinError: 'E_LICENSE_SERVICE_ERROR' });
      expect(Date.parse(failed!.nextCheckinAt!) - Date.now()).toBeGreaterThan(50_000);
      expect(seenAuthorization).toBe('Bearer alga_a_credential');

      const now = Math.floor(Date.now() / 1000);
      const forger = generateKeyPairSync('ed25519').privateKey;
      answer = (id) => ({ status: 200, body: { jwt: signLicenseToken({ iss: 'x', sub: 'tnt_1', aud: id, edition: 'pro', iat: now, exp: now + 60 }, { keyId: 'lk-1', privateKey: forger }) } });
      const forged = await checkInOnce(options);
      expect(forged).toMatchObject({ checkinFailures: 2, lastCheckinError: 'E_LICENSE_TOKEN_INVALID' });
      expect(forged?.token).toBeUndefined();

      answer = (id) => ({ status: 200, body: { jwt: signLicenseToken({ iss: 'x', sub: 'tnt_1', aud: id, edition: 'pro', iat: now, exp: now + 60 }, { keyId: 'lk-1', privateKey: signing.privateKey }) } });
      const ok = await checkInOnce(options);
      expect(ok).toMatchObject({ checkinFailures: 0, lastCheckinError: undefined });
      expect(readLicenseState(store)?.token).toBe(ok?.token);

      answer = () => ({ status: 403, body: { error: { code: 'E_APPLIANCE_REVOKED' } } });
      expect(await checkInOnce(options)).toMatchObject({ revoked: true, nextCheckinAt: undefined });
    } finally {
      server.close();
    }
  });

  it('a running schedule notices state written outside it: a new registration, then a due nextCheckinAt', async () => {
    let checkins = 0;
    const server = createServer((req, res) => {
      checkins += 1;
      const now = Math.floor(Date.now() / 1000);
      const jwt = signLicenseToken({ iss: 'x', sub: 'tnt_1', aud: applianceId(store), edition: 'pro', iat: now, exp: now + 3600 }, { keyId: 'lk-1', privateKey: signing.privateKey });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jwt }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const schedule = startCheckinSchedule({ store, encryptionKeys: keyring, intervalMs: 86_400_000, minBackoffMs: 60_000, wakeMs: 20, log: quiet });
    const until = async (condition: () => boolean) => {
      for (const deadline = Date.now() + 20_000; !condition() && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 20));
    };
    try {
      seed(`http://127.0.0.1:${(server.address() as { port: number }).port}/checkin`);
      await until(() => readLicenseState(store)?.nextCheckinAt !== undefined);
      expect(readLicenseState(store)).toMatchObject({ checkinFailures: 0, lastCheckinError: undefined });
      expect(readLicenseState(store)?.token).toBeDefined();
      expect(checkins).toBe(1);

      const state = readLicenseState(store)!;
      store.transaction(() => writeLicenseState(store, { ...state, nextCheckinAt: new Date(Date.now() - 1000).toISOString() }));
      await until(() => checkins === 2 && Date.parse(readLicenseState(store)!.nextCheckinAt!) > Date.now());
      expect(checkins).toBe(2);
      expect(Date.parse(readLicenseState(store)!.nextCheckinAt!)).toBeGreaterThan(Date.now() + 3_600_000);
    } finally {
      schedule.stop();
      server.close();
    }
  });
});
