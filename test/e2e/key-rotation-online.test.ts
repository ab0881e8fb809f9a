import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../host/core/runner/free-port.ts';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { packProjectDir } from '../../lib/bundle/index.ts';
import { sign, signingFixture } from '../host/signed-bundles.ts';
import { tempDir } from '../host/temp-dir.ts';
import { installCodeFromOutbox, request, signIn, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';
import { guestDir } from '../support/projects.ts';

/**
 * Every key rotated on a running host under load: one host (profile all: its own license
 * service, appliance, extensions and runner), started under umask 000, claimed with an install
 * code from itself, serving signed-in sessions, a tenant's extension reading a sealed secret,
 * license check-ins and a download link — all at once, while `alga-host rotate-key` turns the
 * session, license-signing, download-link and runner-envelope keys. Not one request may fail;
 * afterwards the new keys are in use, the old ones retire cleanly, and every folder the host
 * and its runner made is 0700 and every file 0600.
 */

const run = promisify(execFile);
const password = 'rotation under load passphrase 5';
const secretValue = `sk-rotation-${Math.random().toString(36).slice(2)}`;

async function algaHost(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), ...args], { cwd: projectRoot });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

describe('rotate-key on a running host, under load', () => {
  const dir = tempDir('alga-rotate-online-');
  const dataDir = join(dir.path, 'data');
  const fixture = signingFixture('test');
  let host: HostProcess;
  let tenantToken: string;
  let downloadUrl: string;
  const cookies: string[] = [];
  /** The active key id of a keyring file; a file `init-secrets` wrote holds one key (`initial`, or its own `keyId`). */
  const activeKeyId = (file: string): string => {
    const text = readFileSync(join(dataDir, 'secrets', file), 'utf8');
    if (!text.trim().startsWith('{')) return 'initial';
    const json = JSON.parse(text) as { activeKeyId?: string; keyId?: string };
    return json.activeKeyId ?? json.keyId ?? 'initial';
  };

  beforeAll(async () => {
    const trustPath = join(dir.path, 'trust.json');
    writeFileSync(trustPath, fixture.trustBundleJson);
    const port = await freePort();
    host = await startHostProcess({
      dataDir, profile: 'all', embeddedRunner: true, port, umask: '000',
      env: { SIGNING_TRUST_BUNDLE: trustPath, ALGA_LICENSE_SERVICE_URL: `http://127.0.0.1:${port}`, ALGA_LOG_LEVEL: 'warn', ALGA_ACCESS_LOG: '0', EXT_GATEWAY_TIMEOUT_MS: '20000' },
    });
    const serviceToken = readFileSync(join(dataDir, 'license-service-token'), 'utf8').trim();
    const service = { authorization: `Bearer ${serviceToken}` };

    // The host is its own license service: register, take the code from the outbox, claim with it.
    const registered = await request(`${host.url}/register-tenant`, { json: { company: 'Rotate Co', contact_name: 'Ro', contact_email: 'ro@rotate.test', edition: 'pro' }, headers: service });
    downloadUrl = registered.json.download_url;
    const code = await installCodeFromOutbox(host.url, serviceToken, 'ro@rotate.test');
    const token = readFileSync(join(dataDir, 'setup-token'), 'utf8').trim();
    const claimed = await request(`${host.url}/setup/claim`, { json: { token, password, install_code: code } });
    expect(claimed.status).toBe(201);
    for (let i = 0; i < 3; i++) cookies.push((await signIn(host.url, 'admin', password))!);

    const publisherToken = (await algaHost('token', 'create', '--kind', 'publisher', '--publisher', 'test', '--name', 'ci', '--data', dataDir)).stdout.trim();
    const admin = { cookie: cookies[0] };
    tenantToken = (await request(`${host.url}/api/admin/tokens`, { json: { kind: 'tenant', tenantId: claimed.json.tenant_id }, headers: admin })).json.token;
    const bundle = packProjectDir(guestDir('misbehave'));
    const published = await uploadBundle({ registryUrl: host.url, token: publisherToken, bytes: bundle.bytes, signatureFile: sign(bundle.bytes, fixture.key) });
    expect(published.status).toBe(201);
    const installed = await request(`${host.url}/api/installs`, { json: { extensionId: 'test.guests.misbehave', grants: ['alga.secrets'], egress: [], secrets: { api_key: secretValue } }, headers: { authorization: `Bearer ${tenantToken}` } });
    expect(installed.status).toBe(201);
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
    dir.remove();
  });

  it('loses no session, license or secret while every key rotates; the old keys then retire', async () => {
    // What a client holds from before the rotations (a browser would replace a renewed cookie; this copy keeps the old signature).
    const cookiesBefore = [...cookies];
    const failures: string[] = [];
    const served = { sessions: 0, secrets: 0, checkins: 0, downloads: 0 };
    let stopped = false;
    let runnerUnavailable = 0;
    // Steady traffic, not a stress test: each client pauses briefly between requests.
    const pace = () => new Promise((resolve) => setTimeout(resolve, 25));

    const loops = [
      async () => {
        for (let i = 0; !stopped; i++) {
          const index = i % cookies.length;
          const me = await request(`${host.url}/api/auth/me`, { headers: { cookie: cookies[index] } });
          if (me.status !== 200) failures.push(`session ${index}: ${me.status} ${me.text}`);
          const renewed = me.headers.get('set-cookie');
          if (renewed) cookies[index] = renewed.split(';')[0];
          served.sessions++;
          await pace();
        }
      },
      async () => {
        while (!stopped) {
          const answer = await request(`${host.url}/api/ext/test.guests.misbehave/secret?name=api_key`, { headers: { authorization: `Bearer ${tenantToken}` } });
          // On a loaded machine the host may restart a runner that stops answering its health
          // checks; that is the runner being away (counted), not a secret the guest could not read.
          if (answer.status === 502 && answer.json?.error?.code === 'E_RUNNER_UNAVAILABLE') runnerUnavailable++;
          else if (answer.status !== 200 || answer.json?.value !== secretValue) failures.push(`secret: ${answer.status} ${answer.text}`);
          else served.secrets++;
          await pace();
        }
      },
      async () => {
        while (!stopped) {
          const checked = await request(`${host.url}/api/license/checkin`, { method: 'POST', headers: { cookie: cookies[0] } });
          if (checked.json?.status !== 'active' || checked.json?.checkin_failures !== 0) failures.push(`check-in: ${checked.status} ${checked.text}`);
          served.checkins++;
          await pace();
        }
      },
      async () => {
        while (!stopped) {
          const download = await fetch(downloadUrl);
          await download.arrayBuffer();
          // No image is published here (404); a refused link would be 403 or 410.
          if (download.status !== 404) failures.push(`download link: ${download.status}`);
          served.downloads++;
          await pace();
        }
      },
    ];
    // A loop that throws (a refused connection) is a failure too, and the others stop with it.
    const running = loops.map((loop) => loop().catch((error: Error) => {
      failures.push(`load: ${error.message}`);
      stopped = true;
    }));
    /** Lets every kind of request run a few more times. */
    const moreLoad = async () => {
      const target = { ...served };
      while (!stopped && (Object.keys(target) as Array<keyof typeof served>).some((kind) => served[kind] < target[kind] + 3)) await new Promise((resolve) => setImmediate(resolve));
    };

    const before = { session: activeKeyId('session-key'), license: activeKeyId('license-signing-key.json'), link: activeKeyId('download-link-key'), runner: activeKeyId('runner-keypair.json') };
    const rotations: Record<string, string> = {};
    try {
      for (const kind of ['session', 'license-signing', 'download-link', 'runner-envelope']) {
        await moreLoad();
        const rotated = await algaHost('rotate-key', kind, '--data', dataDir);
        expect([kind, rotated.code, rotated.stderr]).toEqual([kind, 0, '']);
        rotations[kind] = /New active .+ key: (\S+)/.exec(rotated.stdout)![1];
      }
      await moreLoad();
      await moreLoad();
    } finally {
      stopped = true;
      await Promise.all(running);
    }
    expect(failures).toEqual([]);
    expect(Math.min(...Object.values(served))).toBeGreaterThan(10);
    if (runnerUnavailable > 0) console.warn(`${runnerUnavailable} extension call(s) found the runner restarting (machine load); none read a wrong or missing secret.`);

    // The new keys are the ones in use.
    expect(activeKeyId('session-key')).toBe(rotations.session);
    expect(cookies.some((cookie, index) => cookie !== cookiesBefore[index])).toBe(true);
    const jwks = (await request(`${host.url}/.well-known/jwks.json`)).json.keys.map((key: { kid: string }) => key.kid);
    expect(jwks).toEqual([rotations['license-signing'], before.license]);
    const license = (await request(`${host.url}/api/license`, { headers: { cookie: cookies[0] } })).json;
    expect(license).toMatchObject({ status: 'active', checkin_failures: 0 });
    const freshLink = (await request(`${host.url}/install-codes/reissue`, { json: { contact_email: 'ro@rotate.test' }, headers: { authorization: `Bearer ${readFileSync(join(dataDir, 'license-service-token'), 'utf8').trim()}` } })).json.download_url;
    expect((await fetch(freshLink)).status).toBe(404);
    expect(await signIn(host.url, 'admin', password)).toBeDefined();

    // The old keys retire: nothing live needs them any more.
    expect((await algaHost('rotate-key', 'runner-envelope', '--retire', before.runner, '--data', dataDir)).code).toBe(0);
    expect((await request(`${host.url}/api/ext/test.guests.misbehave/secret?name=api_key`, { headers: { authorization: `Bearer ${tenantToken}` } })).json.value).toBe(secretValue);
    expect((await algaHost('rotate-key', 'session', '--retire', before.session, '--data', dataDir)).code).toBe(0);
    expect((await algaHost('rotate-key', 'download-link', '--retire', before.link, '--data', dataDir)).code).toBe(0);
    // The host follows the files (within moments): a cookie that still carries the old key's
    // signature no longer signs in, renewed ones do; the old link is refused.
    const eventually = async (probe: () => Promise<number>, expected: number) => {
      for (const deadline = Date.now() + 10_000; (await probe()) !== expected && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
      return probe();
    };
    expect(await eventually(async () => (await request(`${host.url}/api/auth/me`, { headers: { cookie: cookiesBefore[1] } })).status, 401)).toBe(401);
    expect((await request(`${host.url}/api/auth/me`, { headers: { cookie: cookies[1] } })).status).toBe(200);
    expect(await eventually(async () => (await fetch(downloadUrl)).status, 403)).toBe(403);
  });

  it('under umask 000, every folder the host and its runner made is 0700 and every file 0600', () => {
    const loose: string[] = [];
    const walk = (path: string) => {
      for (const entry of readdirSync(path, { withFileTypes: true })) {
        const full = join(path, entry.name);
        const mode = statSync(full).mode & 0o777;
        if (entry.isDirectory()) {
          if (mode !== 0o700) loose.push(`${full} ${mode.toString(8)}`);
          walk(full);
        } else if ((mode & 0o077) !== 0) {
          loose.push(`${full} ${mode.toString(8)}`);
        }
      }
    };
    expect((statSync(dataDir).mode & 0o777).toString(8)).toBe('700');
    walk(dataDir);
    expect(readdirSync(dataDir)).toEqual(expect.arrayContaining(['runner', 'bundles', 'store', 'secrets', 'run']));
    expect(loose).toEqual([]);
  });
});
