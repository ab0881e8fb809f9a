import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import setupPlugin from '../../host/plugins/setup/index.ts';
import { tempDir } from '../host/temp-dir.ts';
import { requestFrom } from './support/http-from.ts';

/**
 * What stands between the network and an unclaimed host besides the token: one request budget
 * per client for every /setup route, a global lockout after too many wrong tokens that the
 * operator at the console always gets past, and no claim (or sign-in) sent by another site.
 */

const run = promisify(execFile);
const password = 'a long and private passphrase 7';
const hosts: Array<{ running: RunningHost; dir: ReturnType<typeof tempDir> }> = [];

async function unclaimedHost(env: Record<string, string> = {}) {
  const dir = tempDir('alga-setup-guards-');
  const running = await startHost({
    dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'appliance', plugins: [setupPlugin], logLevel: 'silent', announce: () => {},
    env: { RUNNER_BASE_URL: 'http://127.0.0.1:9', ...env },
  });
  hosts.push({ running, dir });
  return { url: running.url, dataDir: dir.path, token: () => readFileSync(join(dir.path, 'setup-token'), 'utf8').trim() };
}

afterAll(async () => {
  for (const { running, dir } of hosts) {
    await running.close();
    dir.remove();
  }
});

describe('setup request budget', () => {
  it('is one budget per client across /setup, /setup/, /setup/claim, /setup/status and the form', async () => {
    const { url } = await unclaimedHost({ ALGA_SETUP_RATE_LIMIT: '5' });
    const wrong = { token: 'x'.repeat(43), password };
    const requests = [
      () => requestFrom(`${url}/setup`),
      () => requestFrom(`${url}/setup/`),
      () => requestFrom(`${url}/setup/claim`, { json: wrong }),
      () => requestFrom(`${url}/setup/status`),
      () => requestFrom(`${url}/setup`, { form: { ...wrong, password_confirm: password } }),
    ];
    expect((await Promise.all(requests.map((send) => send()))).map((response) => response.status).sort()).toEqual([200, 200, 200, 401, 401]);
    for (const send of requests) {
      const refused = await send();
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    }
    // Another client is not held back by this one.
    expect((await requestFrom(`${url}/setup/status`, { localAddress: '127.0.0.2' })).status).toBe(200);
  });
});

describe('global lockout after wrong setup tokens', () => {
  it('locks remote claims, even with the right token, after N wrong tokens from N different clients; a fresh token from the console gets through', async () => {
    const host = await unclaimedHost({ ALGA_SETUP_LOCKOUT_ATTEMPTS: '5' });
    const claim = (token: string, client: number, username = 'admin') =>
      requestFrom(`${host.url}/setup/claim`, { json: { token, username, password }, localAddress: `127.0.0.${client}` });
    for (let client = 10; client < 15; client++) expect((await claim(`guess-${client}`, client)).json.error.code).toBe('E_SETUP_TOKEN_INVALID');

    const locked = await claim(host.token(), 15);
    expect(locked.status).toBe(429);
    expect(locked.json.error.code).toBe('E_SETUP_LOCKED');
    expect(locked.json.error.message).toMatch(/alga-host setup.*alga-host reset-claim/);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(60);
    const status = await requestFrom(`${host.url}/setup/status`, { localAddress: '127.0.0.16' });
    expect(status.json).toEqual({ claimed: false, locked_until: expect.any(String) });

    // The operator at the console: a fresh token (reset-claim) starts with a clean count.
    await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'reset-claim', '--data', host.dataDir], { cwd: projectRoot });
    const claimed = await claim(host.token(), 17);
    expect(claimed.status).toBe(201);
  });
});

describe('cross-site requests', () => {
  it('a form or fetch from another site cannot claim with the right token; the host\'s own page can', async () => {
    const host = await unclaimedHost();
    const form = { token: host.token(), username: 'admin', password, password_confirm: password };
    for (const headers of <Record<string, string>[]>[{ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' }, { origin: 'http://evil.example' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }]) {
      const asForm = await requestFrom(`${host.url}/setup`, { form, headers });
      expect([asForm.status, asForm.json?.error?.code]).toEqual([403, 'E_CROSS_SITE_REQUEST']);
      const asJson = await requestFrom(`${host.url}/setup/claim`, { json: form, headers });
      expect([asJson.status, asJson.json?.error?.code]).toEqual([403, 'E_CROSS_SITE_REQUEST']);
      expect((await requestFrom(`${host.url}/setup/status`)).json).toEqual({ claimed: false });
    }
    const own = await requestFrom(`${host.url}/setup`, { form, headers: { origin: host.url, 'sec-fetch-site': 'same-origin' } });
    expect(own.status).toBe(303);
    expect(own.headers.location).toBe('/login');

    // Sign-in and sign-out: a page elsewhere can neither sign the browser in nor out.
    const login = (headers: Record<string, string>) => requestFrom(`${host.url}/api/auth/login`, { json: { username: 'admin', password }, headers });
    const forged = await login({ origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' });
    expect([forged.status, forged.json.error.code, forged.headers['set-cookie']]).toEqual([403, 'E_CROSS_SITE_REQUEST', undefined]);
    const signedIn = await login({ 'sec-fetch-site': 'same-origin' });
    expect(signedIn.status).toBe(200);
    const cookie = (signedIn.headers['set-cookie'] as string[])[0].split(';')[0];
    const logout = await requestFrom(`${host.url}/api/auth/logout`, { method: 'POST', headers: { cookie, origin: 'http://evil.example' } });
    expect(logout.status).toBe(403);
    expect((await requestFrom(`${host.url}/api/auth/me`, { headers: { cookie } })).status).toBe(200);
  });
});
