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
    const registered = await request(`${controlPlane.url}/register-tenant`, {
      json: { company: 'Headless Ltd', contact_name: 'Hal', contact_email: 'hal@headless.test', edition: 'essentials' },
      headers: { authorization: `Bearer ${serviceToken}` },
    });
    const code = await installCodeFromOutbox(controlPlane.url, serviceToken, 'hal@headless.test');
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
