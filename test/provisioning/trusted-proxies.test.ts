import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHostConfig } from '../../host/core/config.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import licensePlugin from '../../host/plugins/license/index.ts';
import setupPlugin from '../../host/plugins/setup/index.ts';
import { isAlgaError } from '../../lib/errors/index.ts';
import { tempDir } from '../host/temp-dir.ts';
import { requestFrom } from './support/http-from.ts';

/**
 * Behind a reverse proxy (ALGA_TRUSTED_PROXIES), a client is the address the proxy appended — the
 * right-most entry that is not itself a trusted proxy. Whatever a client writes into
 * X-Forwarded-For itself stays to the left and never buys it a fresh budget; a peer that is not
 * a trusted proxy has its header ignored altogether. Sign-in, /register and /setup alike.
 */

const password = 'a long and private passphrase 7';
const proxied = (chain: string) => ({ 'x-forwarded-for': chain });

describe('limiters behind a trusted proxy (127.0.0.1)', () => {
  const dir = tempDir('alga-proxies-');
  let running: RunningHost;
  let url: string;

  beforeAll(async () => {
    running = await startHost({
      dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'all', plugins: [setupPlugin, licensePlugin], logLevel: 'silent', announce: () => {},
      env: { RUNNER_BASE_URL: 'http://127.0.0.1:9', ALGA_TRUSTED_PROXIES: '127.0.0.1', ALGA_REGISTER_RATE_LIMIT: '4', ALGA_SETUP_RATE_LIMIT: '6' },
    });
    url = running.url;
    running.host.auth.createTenant({ id: 'acme', name: 'Acme' });
    await running.host.auth.createUser({ username: 'ann', password, role: 'tenant-admin', tenantId: 'acme' });
  });
  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  // Without a password the answer is a quick 400 (no password hashing on a loaded test machine); the limiter counts it all the same.
  const wrongSignIn = (headers: Record<string, string>, localAddress?: string) =>
    requestFrom(`${url}/api/auth/login`, { json: { username: 'ann' }, headers, localAddress });

  it('sign-in: rotating the client-written part of X-Forwarded-For still hits the limiter; another client keeps its own budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await wrongSignIn(proxied(`10.${i}.0.1, 198.51.100.7`))).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
    expect(statuses.slice(10)).toEqual([429, 429]);
    expect((await wrongSignIn(proxied('198.51.100.8'))).status).toBe(400);
    const right = await requestFrom(`${url}/api/auth/login`, { json: { username: 'ann', password }, headers: proxied('203.0.113.1, 198.51.100.9') });
    expect(right.status).toBe(200);
  });

  it('sign-in: the X-Forwarded-For of a peer that is not a trusted proxy is ignored', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await wrongSignIn(proxied(`203.0.113.${i}`), '127.0.0.2')).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(400));
    expect(statuses[10]).toBe(429);
  });

  it('/register: rotating X-Forwarded-For entries share the real client\'s budget', async () => {
    const register = (chain: string) => requestFrom(`${url}/register`, { json: { claim_code: 'ALGA-NOPE', appliance_id: 'appliance-guess' }, headers: proxied(chain) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await register(`10.9.${i}.1, 198.51.100.20`)).status);
    expect(statuses).toEqual([400, 400, 400, 400, 429]);
    const other = await register('198.51.100.21');
    expect(other.json.error.reason).toBe('invalid_claim_code');
  });

  it('/setup: rotating X-Forwarded-For entries share the real client\'s budget', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i++) statuses.push((await requestFrom(`${url}/setup/status`, { headers: proxied(`10.7.${i}.1, 198.51.100.30`) })).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429]);
    expect((await requestFrom(`${url}/setup/status`, { headers: proxied('198.51.100.31') })).status).toBe(200);
  });
});

describe('proxy settings', () => {
  const refusal = (env: Record<string, string>) => {
    try {
      resolveHostConfig({ env });
    } catch (error) {
      if (isAlgaError(error, 'E_HOST_CONFIG_INVALID')) return error.message;
      throw error;
    }
    throw new Error('expected a refusal');
  };

  it('refuses ALGA_TRUST_PROXY=1 (it believed any client) with the setting to use instead', () => {
    expect(refusal({ ALGA_TRUST_PROXY: '1' })).toMatch(/ALGA_TRUST_PROXY=1 believed the X-Forwarded-For of any client.*set ALGA_TRUSTED_PROXIES/);
    expect(resolveHostConfig({ env: { ALGA_TRUST_PROXY: '0' } }).trustedProxies).toBe(false);
  });

  it('takes addresses, CIDR ranges and named ranges; refuses anything else', () => {
    expect(resolveHostConfig({ env: { ALGA_TRUSTED_PROXIES: ' 10.0.0.2, 10.1.0.0/16, ::1, fd00::/8, loopback ' } }).trustedProxies).toEqual(['10.0.0.2', '10.1.0.0/16', '::1', 'fd00::/8', 'loopback']);
    for (const bad of ['proxy.internal', '10.0.0.0/33', '10.0.0.1/8/2', '*']) expect(refusal({ ALGA_TRUSTED_PROXIES: bad })).toContain(`"${bad}"`);
  });
});
