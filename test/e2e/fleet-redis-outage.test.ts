import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../host/core/runner/free-port.ts';
import { signingFixture } from '../host/signed-bundles.ts';
import { startFleet, type Fleet, type FleetHost } from '../support/fleet.ts';

/**
 * A fleet node counts its sign-in limit in Redis. While that Redis is away, a sign-in is refused
 * with a catalog error that says why (503 E_RATE_LIMIT_UNAVAILABLE and Retry-After), never let
 * through unthrottled and never an internal error; when Redis is back, sign-in works again.
 * The fleet gets a Redis server of its own (the machine's shared one must stay up).
 */

const signer = signingFixture('test');
let redisPort: number;
let redis: ChildProcess | undefined;
let fleet: Fleet;
let host: FleetHost;

async function startRedis(): Promise<void> {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const ping = spawn('redis-cli', ['-p', String(redisPort), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let said = '';
    ping.stdout!.on('data', (chunk: Buffer) => (said += chunk.toString()));
    await once(ping, 'close');
    if (said.trim() === 'PONG') return;
  }
  throw new Error(`redis-server on port ${redisPort} did not answer`);
}

async function stopRedis(): Promise<void> {
  if (!redis || redis.exitCode !== null || redis.signalCode !== null) return;
  redis.kill('SIGKILL');
  await once(redis, 'exit');
}

const signIn = (password: string) =>
  fetch(`${host.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'nobody', password }) });

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  fleet = await startFleet({ label: 'redis-outage', trustBundleJson: signer.trustBundleJson, redisUrl: `redis://127.0.0.1:${redisPort}` });
  await fleet.startRunner();
  host = await fleet.startHost();
}, 120_000);

afterAll(async () => {
  await fleet?.close();
  await stopRedis();
});

describe('a fleet node while its Redis is away', () => {
  it('refuses sign-in with 503 E_RATE_LIMIT_UNAVAILABLE, then signs in again once Redis is back', async () => {
    expect((await signIn('wrong-password-1')).status).toBe(401);

    await stopRedis();
    const refused = await signIn('wrong-password-secret-2');
    const body = await refused.text();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(JSON.parse(body)).toEqual({ error: { code: 'E_RATE_LIMIT_UNAVAILABLE', message: expect.stringContaining('Redis did not answer') }, request_id: refused.headers.get('x-request-id') });
    expect(body).not.toContain('wrong-password-secret-2');
    expect(host.output()).not.toContain('wrong-password-secret-2');

    await startRedis();
    let status = 0;
    for (const deadline = Date.now() + 30_000; Date.now() < deadline && status !== 401; await new Promise((resolve) => setTimeout(resolve, 250))) {
      status = (await signIn('wrong-password-3')).status;
    }
    expect(status).toBe(401);
  });
});
