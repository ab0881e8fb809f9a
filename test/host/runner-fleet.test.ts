import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { callWithFailover, rendezvousScore, runnerFleet, runnersFor } from '../../host/core/runner/fleet.ts';
import { externalRunner } from '../../host/core/runner/external.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { createRunnerClient, type ExecuteAnswer } from '../../host/plugins/extensions/gateway/runner-client.ts';
import { removeRunnerHeartbeat, writeRunnerHeartbeat } from '../../lib/fleet/runner-heartbeat.ts';

/**
 * Routing over a runner fleet: rendezvous order by content hash, failover only for calls that
 * never reached a runner, membership from Redis heartbeats — with the host's runner client. The
 * runners here are small HTTP servers without the execute channel (the client then calls
 * POST /v1/execute) that answer /healthz and count the calls they get (the real runner is in
 * test/e2e/fleet.test.ts).
 */

interface FakeRunner {
  url: string;
  calls: number;
  server: Server;
  /** Takes calls but never answers them. */
  hang: boolean;
  close(): Promise<void>;
}

const servers: FakeRunner[] = [];

async function fakeRunner(): Promise<FakeRunner> {
  const runner = { calls: 0, hang: false } as FakeRunner;
  runner.server = createServer((request, response) => {
    if (request.url === '/healthz') return void response.end('{"status":"ok"}');
    if (request.method !== 'POST') {
      // No execute channel here: the client falls back to POST /v1/execute.
      response.statusCode = 404;
      return void response.end('{"error":{"code":"E_NOT_FOUND","message":"Not found."}}');
    }
    runner.calls++;
    request.resume();
    if (runner.hang) return;
    response.setHeader('content-type', 'application/json');
    // No kept-alive connection outlives a call, so a closed runner refuses the next one outright.
    response.setHeader('connection', 'close');
    response.end(JSON.stringify({ status: 200, headers: {}, body_b64: Buffer.from(runner.url).toString('base64') }));
  });
  await new Promise<void>((resolve) => runner.server.listen(0, '127.0.0.1', resolve));
  runner.url = `http://127.0.0.1:${(runner.server.address() as AddressInfo).port}`;
  runner.close = () => new Promise((resolve) => {
    runner.server.closeAllConnections();
    runner.server.close(() => resolve());
  });
  servers.push(runner);
  return runner;
}

afterAll(async () => {
  for (const server of servers) if (server.server.listening) await server.close();
});

const handle = { serviceToken: 'token', publicKey: 'key' };
const client = createRunnerClient();
afterAll(() => client.close());
const executeCall = (timeoutMs: number) => ({
  envelope: { context: { tenant_id: 't', extension_id: 'e', install_id: 'i', version: '1.0.0', content_hash: 'sha256:x' }, http: { method: 'GET', path: '/', query: '', headers: {} } },
  install: {},
  body: new Uint8Array(),
  timeoutMs,
});
const send = (baseUrl: string): Promise<ExecuteAnswer> => client.call({ baseUrl, serviceToken: 'token' }, executeCall(2_000));
const answeredBy = (answer: ExecuteAnswer) => (answer.ok ? answer.body.toString() : undefined);

describe('rendezvous routing', () => {
  it('spreads bundles over runners and moves only the removed runner\'s bundles when one leaves', () => {
    const runners = ['http://10.0.0.1:7000', 'http://10.0.0.2:7000', 'http://10.0.0.3:7000'];
    const hashes = Array.from({ length: 3000 }, (_, index) => `sha256:${index.toString(16).padStart(64, '0')}`);
    const owner = (candidates: string[], hash: string) => candidates.reduce((best, url) => (rendezvousScore(url, hash) > rendezvousScore(best, hash) ? url : best));
    const before = hashes.map((hash) => owner(runners, hash));
    for (const url of runners) expect(before.filter((chosen) => chosen === url).length).toBeGreaterThan(800);
    const after = hashes.map((hash) => owner(runners.slice(0, 2), hash));
    hashes.forEach((_, index) => {
      if (before[index] !== runners[2]) expect(after[index]).toBe(before[index]);
    });
  });
});

describe('a runner fleet', () => {
  it('sends a call to the next runner when the first refuses the connection, and never sends it twice otherwise', async () => {
    const alive = await fakeRunner();
    const refusing = externalRunner({ baseUrl: `http://127.0.0.1:${await freePort()}`, ...handle });
    const aliveHandle = externalRunner({ baseUrl: alive.url, ...handle });
    await Promise.all([refusing.start(), aliveHandle.start()]);
    // Force the dead one first, as if the probe had not noticed yet.
    const answer = await callWithFailover([{ ...refusing, isAvailable: () => true }, aliveHandle], send);
    expect(answer.status).toBe(200);
    expect(alive.calls).toBe(1);

    // A runner that took the call and then failed (timeout here): final, not sent to the next one.
    const hanging = await fakeRunner();
    hanging.hang = true;
    const other = await fakeRunner();
    await expect(callWithFailover([externalRunner({ baseUrl: hanging.url, ...handle }), externalRunner({ baseUrl: other.url, ...handle })], (url) => client.call({ baseUrl: url, serviceToken: 'token' }, executeCall(300)))).rejects.toMatchObject({ kind: 'timeout' });
    expect([hanging.calls, other.calls]).toEqual([1, 0]);
    await Promise.all([refusing.stop(), aliveHandle.stop()]);
  });

  it('routes a bundle to the runners at the head of its rendezvous order and drops a dead runner', async () => {
    const runners = await Promise.all([fakeRunner(), fakeRunner(), fakeRunner()]);
    const fleet = runnerFleet({ ...handle, urls: runners.map((runner) => runner.url), probeIntervalMs: 100 });
    await fleet.start();
    try {
      const hash = `sha256:${'ab'.repeat(32)}`;
      const order = runners.map((runner) => runner.url).sort((a, b) => rendezvousScore(b, hash) - rendezvousScore(a, hash));
      // One call at a time: always the first in rendezvous order.
      for (let index = 0; index < 5; index++) await callWithFailover(runnersFor(fleet, hash), send);
      expect(runners.find((runner) => runner.url === order[0])!.calls).toBe(5);
      // Many at once: shared by the first two, never the third.
      await Promise.all(Array.from({ length: 20 }, () => callWithFailover(runnersFor(fleet, hash), send)));
      expect(runners.find((runner) => runner.url === order[1])!.calls).toBeGreaterThan(0);
      expect(runners.find((runner) => runner.url === order[2])!.calls).toBe(0);

      // The first one dies: the next call (before any probe noticed) fails over, and it is dropped from routing.
      const first = runners.find((runner) => runner.url === order[0])!;
      await first.close();
      const answer = await callWithFailover(runnersFor(fleet, hash), send);
      expect(answeredBy(answer)).toBe(order[1]);
      expect(runnersFor(fleet, hash).map((runner) => runner.baseUrl())).toEqual(order.slice(1));
      expect(fleet.isReady()).toBe(true);
    } finally {
      await fleet.stop();
    }
  });

  it('finds runners by their heartbeats in Redis and forgets one whose heartbeat stopped', async () => {
    const prefix = `test-fleet-routing-${process.pid}-${randomBytes(3).toString('hex')}`;
    const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: 1 });
    const [one, two] = await Promise.all([fakeRunner(), fakeRunner()]);
    const fleet = runnerFleet({ ...handle, discovery: { redis, prefix, intervalMs: 100 }, probeIntervalMs: 100 });
    try {
      await writeRunnerHeartbeat(redis, prefix, { url: one.url, startedAt: new Date().toISOString() }, 60_000);
      await fleet.start();
      expect(fleet.members()).toEqual([one.url]);
      await writeRunnerHeartbeat(redis, prefix, { url: two.url, startedAt: new Date().toISOString() }, 300);
      await until(() => fleet.members().length === 2);
      // `two` stops beating: its key expires and it leaves; `one` leaves at once on a graceful stop.
      await until(() => !fleet.members().includes(two.url));
      await removeRunnerHeartbeat(redis, prefix, one.url);
      await until(() => fleet.members().length === 0);
      expect(fleet.isAvailable()).toBe(false);
      expect(runnersFor(fleet, 'sha256:any')).toEqual([]);
    } finally {
      await fleet.stop();
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    }
  });
});

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !check(); await new Promise((resolve) => setTimeout(resolve, 50))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
  }
}
