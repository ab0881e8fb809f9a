import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlgaError, errorCatalog, type ErrorCode } from '../../lib/errors/index.ts';
import { definePlugin } from '../../host/core/plugin.ts';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import { loadProfilePlugins } from '../../host/plugins/index.ts';
import { tempDir } from './temp-dir.ts';

/** Routes that reach a 429 in the ways the product's routes cannot show on their own. */
const probePlugin = definePlugin({
  name: 'rate-limit-probe',
  version: '1.0.0',
  requires: [],
  prefix: '/probe',
  register(host) {
    // The limiter's "ban" turns a used-up limit into a 403 unless the host maps it.
    host.routes.post('/banned', { config: { rateLimit: { max: 1, timeWindow: '1 minute', ban: 0 } } }, async () => ({ ok: true }));
    // A 429 raised by code (an upstream service limiting the host), not by the limiter.
    host.routes.get('/upstream', async () => {
      throw new AlgaError('E_RATE_LIMITED', 'The license service is limiting registrations; try again in a minute.');
    });
  },
});

/** What every rate-limit answer must carry: 429, a catalog code and its sentence, Retry-After, the request id. */
async function expectRateLimitAnswer(response: Response, code: ErrorCode): Promise<void> {
  const body = await response.json();
  expect(response.status).toBe(429);
  expect(body.error.code).toBe(code);
  expect(body.error.message.startsWith(errorCatalog[code].message)).toBe(true);
  expect(Number(response.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
}

describe('rate-limit answers on the real host (127.0.0.1)', () => {
  const dir = tempDir();
  let running: RunningHost;
  beforeAll(async () => {
    const plugins = [...(await loadProfilePlugins('all')), probePlugin];
    running = await startHost({
      dataDir: dir.path, port: 0, host: '127.0.0.1', profile: 'all', plugins, logLevel: 'silent', announce: () => {},
      env: { RUNNER_BASE_URL: 'http://127.0.0.1:9' },
    });
  });
  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  const post = (path: string, body: unknown, contentType = 'application/json') =>
    fetch(`${running.url}${path}`, { method: 'POST', headers: { 'content-type': contentType }, body: typeof body === 'string' ? body : JSON.stringify(body) });

  it('throttles POST /api/auth/login after 10 attempts a minute with 429 E_RATE_LIMITED, not a 500', async () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      const response = await post('/api/auth/login', { username: 'mallory', password: `guess number ${attempt}` });
      expect(response.status).toBe(401);
      expect((await response.json()).error.code).toBe('E_LOGIN_FAILED');
    }
    await expectRateLimitAnswer(await post('/api/auth/login', { username: 'mallory', password: 'guess number 11' }), 'E_RATE_LIMITED');
  });

  it('throttles the sign-in form POST /login the same way', async () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      expect((await post('/login', `username=mallory&password=guess${attempt}`, 'application/x-www-form-urlencoded')).status).toBe(401);
    }
    await expectRateLimitAnswer(await post('/login', 'username=mallory&password=again', 'application/x-www-form-urlencoded'), 'E_RATE_LIMITED');
  });

  it('keeps a route\'s own catalog code (setup claims: E_SETUP_RATE_LIMITED)', async () => {
    // The setup budget: 20 requests a minute per client, every /setup route together (ALGA_SETUP_RATE_LIMIT).
    for (let attempt = 1; attempt <= 20; attempt++) expect((await post('/setup/claim', { token: 'wrong' })).status).not.toBe(429);
    await expectRateLimitAnswer(await post('/setup/claim', { token: 'wrong' }), 'E_SETUP_RATE_LIMITED');
  });

  it('answers 429 (not 403 or 400) when the limiter bans a client', async () => {
    expect((await post('/probe/banned', {})).status).toBe(200);
    await expectRateLimitAnswer(await post('/probe/banned', {}), 'E_RATE_LIMITED');
    await expectRateLimitAnswer(await post('/probe/banned', {}), 'E_RATE_LIMITED');
  });

  it('adds Retry-After to a 429 raised by code rather than by the limiter', async () => {
    const response = await fetch(`${running.url}/probe/upstream`);
    await expectRateLimitAnswer(response, 'E_RATE_LIMITED');
    expect(response.headers.get('retry-after')).toBe('60');
  });
});
