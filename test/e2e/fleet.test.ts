import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rendezvousScore } from '../../host/core/runner/fleet.ts';
import { contentHashOf, packBundle, parseManifest, type Manifest } from '../../lib/bundle/index.ts';
import { errorCatalog } from '../../lib/errors/index.ts';
import { algaHost } from '../host/alga-host-cli.ts';
import { installCodeFromOutbox } from '../provisioning/support/host-process.ts';
import { sign, signingFixture } from '../host/signed-bundles.ts';
import { currentSetupToken, startFleet, type Fleet, type FleetHost, type RunnerProcess } from '../support/fleet.ts';
import { guestDir } from '../support/projects.ts';

/**
 * A fleet on loopback: PostgreSQL-backed state (a fresh database), Redis, two host nodes and
 * three runners, each its own process. The single-use steps raced on two nodes, a tenant's rate
 * limit across both, and then — under a bounded load of installs, KV writes and gateway calls —
 * `kill -9` of one runner and one host node: every acknowledged write is still there, only
 * requests in flight on the killed nodes fail (each with a catalog error when an answer came at
 * all), and calls succeed again through the survivors.
 */

const extensionId = 'test.guests.misbehave';
const password = 'fleet-admin-password-1';
const signer = signingFixture('test');

function misbehaveBundle(change: (manifest: Manifest) => Manifest = (manifest) => manifest) {
  const dir = guestDir('misbehave');
  const manifest = change(parseManifest(readFileSync(join(dir, 'manifest.json'))));
  const bytes = packBundle({ manifest, component: readFileSync(join(dir, 'dist', 'component.wasm')), ui: new Map([['index.html', new TextEncoder().encode('<!doctype html><title>misbehave</title>')]]) });
  return { bytes, hash: contentHashOf(bytes), signatureFile: sign(bytes, signer.key) };
}

interface Answer {
  status: number;
  json: any;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set('content-type', 'application/json');
    body = JSON.stringify(init.json);
  }
  const response = await fetch(url, { ...init, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.status, json };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A catalog error answer: the one body shape, a known code, and the catalog's status for it. */
function isCatalogError(answer: Answer): boolean {
  const code = answer.json?.error?.code as keyof typeof errorCatalog | undefined;
  return typeof answer.json?.request_id === 'string' && typeof answer.json?.error?.message === 'string' && code !== undefined && code in errorCatalog && errorCatalog[code].status === answer.status;
}

describe('a fleet: PostgreSQL, Redis, two host nodes, three runners', () => {
  let fleet: Fleet;
  let nodeA: FleetHost;
  let nodeB: FleetHost;
  let cookie: string;
  let publishedHash: string;

  beforeAll(async () => {
    fleet = await startFleet({ label: 'e2e', trustBundleJson: signer.trustBundleJson, hostEnv: { EXT_GATEWAY_TIMEOUT_MS: '30000' } });
    await Promise.all([fleet.startRunner(), fleet.startRunner(), fleet.startRunner()]);
    nodeA = await fleet.startHost();
    nodeB = await fleet.startHost();
  }, 240_000);

  afterAll(async () => {
    await fleet?.close();
  }, 60_000);

  it('reports PostgreSQL and Redis in /readyz on every node', async () => {
    for (const node of [nodeA, nodeB]) {
      const ready = await call(`${node.url}/readyz`);
      expect(ready).toEqual({ status: 200, json: { status: 'ready', checks: { plugins: true, runner: true, database: true, redis: true } } });
    }
  });

  it('gives exactly one winner when two nodes race on one claim', async () => {
    const token = await currentSetupToken(nodeB);
    const claims = await Promise.all([nodeA, nodeB].map((node) => call(`${node.url}/setup/claim`, { method: 'POST', json: { token, username: 'admin', password } })));
    const won = claims.filter((answer) => answer.status < 300);
    const lost = claims.filter((answer) => answer.status >= 300);
    expect(won).toHaveLength(1);
    expect(lost.map((answer) => answer.json.error.code)).toEqual(['E_SETUP_CLAIMED']);
    // The admin signs in on one node; the session is good on the other.
    const login = await fetch(`${nodeA.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    expect(login.status).toBe(200);
    cookie = login.headers.getSetCookie().map((value) => value.split(';')[0]).join('; ');
    expect((await call(`${nodeB.url}/api/auth/me`, { headers: { cookie } })).status).toBe(200);
    expect((await call(`${nodeB.url}/setup/status`)).status).toBe(410);
  });

  /** Admin API calls, alternating nodes, with the admin's session (state-changing calls name the node as origin). */
  async function admin(node: FleetHost, path: string, json: unknown): Promise<Answer> {
    return call(`${node.url}${path}`, { method: 'POST', json, headers: { cookie, origin: node.url } });
  }

  async function tenantWithToken(node: FleetHost, id: string): Promise<string> {
    const tenant = await admin(node, '/api/admin/tenants', { id, name: id });
    expect(tenant.status, JSON.stringify(tenant.json)).toBe(201);
    const token = await admin(node, '/api/admin/tokens', { kind: 'tenant', tenantId: id, label: id });
    expect(token.status).toBe(201);
    return token.json.token as string;
  }

  async function install(node: FleetHost, token: string, body: Record<string, unknown> = {}): Promise<Answer> {
    return call(`${node.url}/api/installs`, { method: 'POST', headers: bearer(token), json: { extensionId, grants: ['alga.storage'], egress: [], ...body } });
  }

  it('lets operator commands write the fleet\'s database from a node\'s folder, and refuses a folder with other secrets', async () => {
    const env = { ALGA_DATABASE_URL: fleet.database.url };
    const created = await algaHost(['tenant', 'create', '--data', nodeA.dataDir, '--profile', 'all', '--id', 'from-cli', '--name', 'From the CLI'], { env });
    expect(created.code, created.stderr).toBe(0);
    const tenants = await call(`${nodeB.url}/api/admin/tenants`, { headers: { cookie } });
    expect(tenants.json.tenants.map((tenant: { id: string }) => tenant.id)).toContain('from-cli');
    const stranger = await algaHost(['tenant', 'create', '--data', join(fleet.root, 'fresh-folder'), '--profile', 'all', '--name', 'Nope'], { env });
    expect(stranger.code).toBe(1);
    expect(stranger.stderr).toContain('error E_FLEET_SECRETS_MISMATCH:');

    // The headless claim works on the fleet, which is claimed: refused, and no store of its own made in the folder.
    writeFileSync(join(fleet.root, 'cli-password'), 'another fleet admin passphrase 42\n', { mode: 0o600 });
    const claimed = await algaHost(['setup', '--data', nodeA.dataDir, '--profile', 'all', '--username', 'second-admin', '--password-file', join(fleet.root, 'cli-password')], { env });
    expect(claimed.code).toBe(1);
    expect(claimed.stderr).toContain('error E_SETUP_CLAIMED:');
    expect(existsSync(join(nodeA.dataDir, 'store'))).toBe(false);
    const reset = await algaHost(['reset-claim', '--data', nodeA.dataDir], { env });
    expect(reset.code).toBe(1);
    expect(reset.stderr).toContain('error E_FLEET_CONFIG_INVALID:');
  });

  it('gives exactly one winner when two nodes race to publish the same version with different content', async () => {
    const publisher = await admin(nodeA, '/api/admin/tokens', { kind: 'publisher', publisher: 'test', label: 'ci' });
    expect(publisher.status).toBe(201);
    const first = misbehaveBundle();
    const second = misbehaveBundle((manifest) => ({ ...manifest, description: 'the same version, other bytes' }));
    expect(first.hash).not.toBe(second.hash);
    const publish = (node: FleetHost, bundle: typeof first) =>
      call(`${node.url}/api/registry/bundles`, {
        method: 'POST',
        body: Buffer.from(bundle.bytes),
        headers: { ...bearer(publisher.json.token), 'content-type': 'application/octet-stream', 'x-alga-signature': Buffer.from(JSON.stringify(bundle.signatureFile)).toString('base64') },
      });
    const [onA, onB] = await Promise.all([publish(nodeA, first), publish(nodeB, second)]);
    expect([onA.status, onB.status].sort()).toEqual([201, 409]);
    const winner = onA.status === 201 ? onA : onB;
    const loser = onA.status === 201 ? onB : onA;
    expect(loser.json.error.code).toBe('E_REGISTRY_VERSION_CONFLICT');
    publishedHash = winner.json.contentHash;
    for (const node of [nodeA, nodeB]) {
      const listed = await call(`${node.url}/api/registry/extensions/${extensionId}`, { headers: bearer(publisher.json.token) });
      expect(listed.json.versions.map((version: { contentHash: string }) => version.contentHash)).toEqual([publishedHash]);
    }
  });

  it('gives exactly one winner when two nodes race to redeem one install code', async () => {
    const serviceToken = readFileSync(join(nodeA.dataDir, 'license-service-token'), 'utf8').trim();
    const email = `owner-${Date.now()}@example.com`;
    const registered = await call(`${nodeA.url}/register-tenant`, { method: 'POST', headers: bearer(serviceToken), json: { company: 'Race Co', contact_name: 'Ada', contact_email: email, edition: 'pro' } });
    expect(registered.status).toBe(201);
    // The code is minted when the waiting mail is released (the outbox never holds one): on the other node.
    const code = await installCodeFromOutbox(nodeB.url, serviceToken, email);
    const redeemed = await Promise.all(
      [nodeA, nodeB].map((node, index) => call(`${node.url}/register`, { method: 'POST', json: { claim_code: code, appliance_id: `appliance-race-${index}-${Date.now()}` } })),
    );
    expect(redeemed.map((answer) => answer.status).sort()).toEqual([200, errorCatalog.E_INSTALL_CODE_CONSUMED.status].sort());
    expect(redeemed.find((answer) => answer.status !== 200)!.json.error.code).toBe('E_INSTALL_CODE_CONSUMED');
    const appliances = await call(`${nodeA.url}/appliances?tenant_id=${registered.json.tenant_id}`, { headers: bearer(serviceToken) });
    expect(appliances.json.appliances).toHaveLength(1);
    // The operator's view of that mail, from a node's folder: the fleet's, not an empty store of the folder's own.
    const listed = await algaHost(['mail', 'list', '--data', nodeA.dataDir, '--to', email], { env: { ALGA_DATABASE_URL: fleet.database.url } });
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain(email);
    expect(listed.stdout).not.toContain(code);
  });

  it('holds a tenant\'s rate limit across both nodes: the sum of admitted calls stays within it', async () => {
    // Warm the bundle on the runners it is routed to (a cold start on a busy machine can take seconds).
    const warm = await tenantWithToken(nodeB, 'warm-up');
    expect((await install(nodeA, warm)).status).toBe(201);
    for (let attempt = 0; attempt < 10; attempt++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, index) => call(`${(index % 2 ? nodeA : nodeB).url}/api/ext/${extensionId}/hello`, { headers: bearer(warm) })));
      if (answers.every((answer) => answer.status === 200)) break;
    }
    const token = await tenantWithToken(nodeA, 'rate-limited');
    expect((await install(nodeB, token, { limits: { requestsPerMinute: 6 } })).status).toBe(201);
    const started = Date.now();
    const answers = await Promise.all(Array.from({ length: 24 }, (_, index) => call(`${(index % 2 ? nodeA : nodeB).url}/api/ext/${extensionId}/hello`, { headers: bearer(token) })));
    const elapsedMinutes = (Date.now() - started) / 60_000;
    const admitted = answers.filter((answer) => answer.status === 200).length;
    const refused = answers.filter((answer) => answer.status === 429);
    expect(admitted + refused.length).toBe(24);
    // Six at once, plus one for every ten seconds the burst took (the bucket refills at 6 a minute).
    expect(admitted).toBeLessThanOrEqual(6 + Math.floor(elapsedMinutes * 6));
    expect(admitted).toBeGreaterThanOrEqual(6);
    expect(refused.every((answer) => answer.json.error.code === 'E_EXT_RATE_LIMITED')).toBe(true);
  });

  it('keeps every acknowledged write and recovers through the survivors when a runner and a host node are killed', async () => {
    // The runner the bundle's calls go to first (rendezvous order), so killing it matters.
    const target = [...fleet.runners].sort((a, b) => rendezvousScore(b.url, publishedHash) - rendezvousScore(a.url, publishedHash))[0] as RunnerProcess;
    const tenants = await Promise.all(['load-0', 'load-1', 'load-2', 'load-3'].map(async (id, index) => {
      const node = index % 2 ? nodeA : nodeB;
      const token = await tenantWithToken(node, id);
      expect((await install(node, token)).status).toBe(201);
      return { id, token };
    }));

    interface Outcome {
      kind: 'kv' | 'call' | 'install';
      node: FleetHost;
      startedAt: number;
      endedAt: number;
      acked: boolean;
      answer?: Answer;
      connectionError?: string;
      write?: { tenant: string; token: string; key: string; value: string };
    }
    const outcomes: Outcome[] = [];
    let live = [nodeA, nodeB];
    let sequence = 0;
    let killedAt = 0;
    const inFlightAtKill = new Set<Outcome>();
    const inFlight = new Set<Outcome>();

    async function operation(): Promise<void> {
      const number = sequence++;
      const node = live[number % live.length];
      const kind = number % 7 === 6 ? 'install' : number % 2 ? 'kv' : 'call';
      const outcome: Outcome = { kind, node, startedAt: Date.now(), endedAt: 0, acked: false };
      inFlight.add(outcome);
      try {
        if (kind === 'install') {
          const id = `installed-${number}`;
          const tenant = await admin(node, '/api/admin/tenants', { id, name: id });
          const token = tenant.status === 201 ? await admin(node, '/api/admin/tokens', { kind: 'tenant', tenantId: id, label: id }) : tenant;
          outcome.answer = token.status === 201 ? await install(node, token.json.token) : token;
          outcome.acked = outcome.answer.status === 201;
          if (outcome.acked) outcome.write = { tenant: id, token: token.json.token, key: '', value: '' };
        } else if (kind === 'kv') {
          const tenant = tenants[number % tenants.length];
          const key = `key-${number}`;
          const value = `value-${number}`;
          outcome.answer = await call(`${node.url}/api/ext/${extensionId}/storage/put?key=${key}`, { method: 'POST', body: value, headers: { ...bearer(tenant.token), 'content-type': 'text/plain' } });
          outcome.acked = outcome.answer.status === 200 && outcome.answer.json?.ok === true;
          outcome.write = { tenant: tenant.id, token: tenant.token, key, value };
        } else {
          outcome.answer = await call(`${node.url}/api/ext/${extensionId}/hello`, { headers: bearer(tenants[number % tenants.length].token) });
          outcome.acked = outcome.answer.status === 200;
        }
      } catch (error) {
        outcome.connectionError = String((error as Error & { cause?: Error }).cause?.message ?? error);
        // What a load balancer does: a node that refuses or drops connections leaves the pool.
        live = live.filter((candidate) => candidate !== node);
      } finally {
        outcome.endedAt = Date.now();
        inFlight.delete(outcome);
        outcomes.push(outcome);
      }
    }

    const workers = 6;
    const afterKill = { succeeded: 0 };
    const deadline = Date.now() + 90_000;
    async function worker(): Promise<void> {
      while (Date.now() < deadline && afterKill.succeeded < 80) {
        await operation();
        const last = outcomes.at(-1)!;
        if (killedAt && last.startedAt > killedAt && last.acked) afterKill.succeeded++;
        if (!killedAt && outcomes.filter((outcome) => outcome.acked).length >= 40) {
          killedAt = Date.now();
          for (const pending of inFlight) inFlightAtKill.add(pending);
          target.child.kill('SIGKILL');
          nodeB.child.kill('SIGKILL');
        }
      }
    }
    await Promise.all(Array.from({ length: workers }, worker));
    expect(killedAt).toBeGreaterThan(0);
    expect(afterKill.succeeded).toBeGreaterThanOrEqual(80);

    // Only requests in flight on the killed nodes failed: a dropped connection to the killed host (no
    // answer: nothing acknowledged), or a catalog error for a call the killed runner had taken. The
    // survivors route around the dead runner at its first refused or dropped connection, so at most
    // the calls in flight then fail (six workers, two kills), and every call after the recovery succeeds.
    const failures = outcomes.filter((outcome) => !outcome.acked);
    for (const failure of failures) {
      if (failure.connectionError) {
        expect(failure.node, failure.connectionError).toBe(nodeB);
      } else {
        expect(isCatalogError(failure.answer!), JSON.stringify(failure.answer)).toBe(true);
        expect(failure.answer!.json.error.code).toBe('E_RUNNER_UNAVAILABLE');
      }
      // Nothing failed before the kill.
      expect(failure.endedAt).toBeGreaterThanOrEqual(killedAt);
    }
    expect(failures.length).toBeLessThanOrEqual(workers * 2);
    const byStart = [...outcomes].sort((a, b) => a.startedAt - b.startedAt);
    expect(byStart.slice(-40).every((outcome) => outcome.acked)).toBe(true);

    // Every acknowledged write is there, read back through the surviving node.
    const acknowledged = outcomes.filter((outcome) => outcome.acked && outcome.write);
    expect(acknowledged.filter((outcome) => outcome.kind === 'kv').length).toBeGreaterThan(20);
    expect(acknowledged.filter((outcome) => outcome.kind === 'install').length).toBeGreaterThan(3);
    for (const { kind, write } of acknowledged) {
      if (kind === 'kv') {
        const read = await call(`${nodeA.url}/api/ext/${extensionId}/storage/get?key=${write!.key}`, { headers: bearer(write!.token) });
        expect(read.json, `${write!.tenant}/${write!.key}`).toEqual({ ok: true, value: write!.value });
      } else {
        expect((await call(`${nodeA.url}/api/installs/${extensionId}`, { headers: bearer(write!.token) })).status).toBe(200);
      }
    }

    // Recovery: from the kill to the first call that succeeded through the survivors after it, and to the
    // last failure (after which every call succeeded).
    const firstSuccess = Math.min(...outcomes.filter((outcome) => outcome.startedAt >= killedAt && outcome.acked).map((outcome) => outcome.endedAt));
    const lastFailure = Math.max(killedAt, ...failures.map((outcome) => outcome.endedAt));
    process.stdout.write(
      `[fleet] kill -9 of a runner and a host node: ${failures.length} failed (${failures.filter((f) => f.connectionError).length} dropped by the killed host, ` +
        `${failures.filter((f) => !f.connectionError).length} E_RUNNER_UNAVAILABLE), ${inFlightAtKill.size} in flight at the kill; ` +
        `first success ${firstSuccess - killedAt} ms after the kill, last failure ${lastFailure - killedAt} ms after it; ${acknowledged.length} acknowledged writes all present\n`,
    );
  }, 180_000);
});
