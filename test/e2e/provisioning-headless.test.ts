import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { installCodeFromOutbox, request, signIn, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';

/** `alga-host setup --install-code CODE --data DIR`: the headless claim, against a real control plane. */

const execute = promisify(execFile);
const password = 'headless install passphrase 31';
let root: string;
let controlPlane: HostProcess;
let serviceToken: string;
const hosts: HostProcess[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'alga-prov-headless-'));
  controlPlane = await startHostProcess({ dataDir: join(root, 'cp'), profile: 'control-plane' });
  serviceToken = readFileSync(join(root, 'cp', 'license-service-token'), 'utf8').trim();
  writeFileSync(join(root, 'password'), `${password}\n`, { mode: 0o600 });
}, 120_000);
afterAll(async () => {
  await Promise.all([controlPlane?.stop(), ...hosts.map((host) => host.stop())]);
  rmSync(root, { recursive: true, force: true });
});

function algaHostSetup(dataDir: string, code: string) {
  return execute(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'setup', '--data', dataDir, '--profile', 'appliance', '--install-code', code, '--password-file', join(root, 'password')], {
    cwd: projectRoot,
    env: { ...process.env, ALGA_LICENSE_SERVICE_URL: controlPlane.url },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

/** Registers a tenant at the control plane and reads its install code from the outbox. */
async function registerForCode(details: { company: string; contact_name: string; contact_email: string; edition: string }) {
  const registered = await request(`${controlPlane.url}/register-tenant`, { json: details, headers: { authorization: `Bearer ${serviceToken}` } });
  return { registered, code: await installCodeFromOutbox(controlPlane.url, serviceToken, details.contact_email) };
}

function algaHost(...args: string[]) {
  return execute(process.execPath, [join(projectRoot, 'bin/alga-host.js'), ...args], { cwd: projectRoot, env: { ...process.env, ALGA_ADMIN_PASSWORD: '' } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );
}

describe('operator commands refuse bad input with a code and a sentence, writing nothing', () => {
  it('setup: an unreadable password or provider key file', async () => {
    const dataDir = join(root, 'files');
    const noPassword = await algaHost('setup', '--data', dataDir, '--password-file', join(root, 'missing-password'));
    expect(noPassword.code).toBe(1);
    expect(noPassword.stderr).toMatch(/^error E_PASSWORD_FILE_UNREADABLE: .*missing-password: ENOENT/m);
    const noKey = await algaHost('setup', '--data', dataDir, '--password-file', join(root, 'password'), '--provider-key-file', join(root, 'missing-key'));
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/^error E_PROVIDER_KEY_FILE_UNREADABLE: .*missing-key: ENOENT/m);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('reset-claim: a folder with no host in it (a mistyped --data) and a bad --ttl-minutes', async () => {
    const typo = join(root, 'typo');
    const refused = await algaHost('reset-claim', '--data', typo);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error E_HOST_DATA_MISSING: .*typo has no store/m);
    expect(existsSync(typo)).toBe(false);
    const badTtl = await algaHost('reset-claim', '--data', typo, '--ttl-minutes', 'soon');
    expect(badTtl.stderr).toMatch(/^error E_HOST_CONFIG_INVALID: .*--ttl-minutes/m);
  });
});

describe('alga-host setup --install-code', () => {
  it('a bad code exits non-zero with a clear message and leaves the host UNCLAIMED', async () => {
    const dataDir = join(root, 'bad');
    const result = await algaHostSetup(dataDir, 'ALGA-00000-00000-00000-00000-00000-00000-0000');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/error E_INSTALL_CODE_INVALID: .*re-issue/);
    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    hosts.push(host);
    expect((await request(`${host.url}/setup/status`)).json).toEqual({ claimed: false });
  });

  it('claims with the registry tenant; the host then starts CLAIMED', async () => {
    const { registered, code } = await registerForCode({ company: 'Headless Ltd', contact_name: 'Hal', contact_email: 'hal@headless.test', edition: 'essentials' });
    const dataDir = join(root, 'good');
    const result = await algaHostSetup(dataDir, code);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`tenant ${registered.json.tenant_id}`);
    expect(result.stdout).not.toContain(password);
    expect(existsSync(join(dataDir, 'setup-token'))).toBe(false);

    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    hosts.push(host);
    expect((await request(`${host.url}/setup/status`)).status).toBe(410);
    const cookie = (await signIn(host.url, 'admin', password))!;
    expect((await request(`${host.url}/api/license`, { headers: { cookie } })).json).toMatchObject({ tenant_id: registered.json.tenant_id, edition: 'essentials', status: 'essentials', licensed: true });
  });
});

describe('alga-host setup against the folder of a RUNNING host (paid edition)', () => {
  it('the running host notices the license and checks in without a restart', async () => {
    const { registered, code } = await registerForCode({ company: 'Running Ltd', contact_name: 'Rae', contact_email: 'rae@running.test', edition: 'pro' });
    const dataDir = join(root, 'running');
    const host = await startHostProcess({ dataDir, profile: 'appliance', env: { ALGA_LICENSE_CHECKIN_WAKE_SECONDS: '0.2' } });
    hosts.push(host);
    expect((await request(`${host.url}/setup/status`)).json).toEqual({ claimed: false });

    const result = await algaHostSetup(dataDir, code);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain(`tenant ${registered.json.tenant_id}`);

    const cookie = (await signIn(host.url, 'admin', password))!;
    const license = async () => (await request(`${host.url}/api/license`, { headers: { cookie } })).json;
    const claimedState = await license();
    expect(claimedState).toMatchObject({ tenant_id: registered.json.tenant_id, edition: 'pro', status: 'active' });

    let state = claimedState;
    for (const deadline = Date.now() + 30_000; state.next_checkin_at === null && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      state = await license();
    }
    expect(state).toMatchObject({ status: 'active', licensed: true, checkin_failures: 0, last_checkin_error: null });
    expect(state.next_checkin_at).not.toBeNull();
    expect(Date.parse(state.last_checkin_at)).toBeGreaterThan(Date.parse(state.registered_at));
    expect(host.child.exitCode).toBeNull();
    expect(host.output()).toContain('license check-in succeeded');
  });

  it('`alga-host start` refuses a wake interval that is not a positive number', async () => {
    const refused = await execute(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'start', '--data', join(root, 'bad-wake'), '--port', '0', '--host', '127.0.0.1', '--profile', 'appliance'], {
      cwd: projectRoot,
      env: { ...process.env, RUNNER_BASE_URL: 'http://127.0.0.1:9', ALGA_LICENSE_CHECKIN_WAKE_SECONDS: 'soon' },
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error E_HOST_CONFIG_INVALID: .*ALGA_LICENSE_CHECKIN_WAKE_SECONDS must be a positive number, got "soon"/m);
  });
});
