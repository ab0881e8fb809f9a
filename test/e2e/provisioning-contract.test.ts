import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { parseProvisionEnv } from '../../host/plugins/setup/provision-file.ts';
import { NO_RUNNER, request, signIn, startHostProcess, type HostProcess } from '../provisioning/support/host-process.ts';

/**
 * One provisioning contract: `npm start`, `alga-host start` on bare metal and the appliance's
 * systemd unit all run the same command, whose first step is the one secrets generator; the
 * cloud-init snippet only writes provision.env for that command to apply.
 */

const run = promisify(execFile);
const example = (file: string) => readFileSync(join(projectRoot, 'examples/appliance', file), 'utf8');
let root: string;
const started: HostProcess[] = [];
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'alga-prov-contract-'));
});
afterAll(async () => {
  await Promise.all(started.map((host) => host.stop()));
  rmSync(root, { recursive: true, force: true });
});

/** The provision.env body that cloud-init.yaml writes, and where it writes it. */
function cloudInitProvisionFile(): { path: string; permissions: string; content: string } {
  const lines = example('cloud-init.yaml').split('\n');
  const start = lines.findIndex((line) => /path: .*provision\.env/.test(line));
  const entry: string[] = [];
  for (let i = start + 1; i < lines.length && !/^\s*- path:/.test(lines[i]); i++) entry.push(lines[i]);
  const contentAt = entry.findIndex((line) => /content: \|/.test(line));
  const indent = /^\s*/.exec(entry[contentAt + 1])![0].length;
  const content = entry.slice(contentAt + 1).filter((line) => line.length >= indent && /^\s/.test(line)).map((line) => line.slice(indent)).join('\n');
  return { path: /path: (\S+)/.exec(lines[start])![1], permissions: /permissions: '(\d+)'/.exec(entry.join('\n'))![1], content };
}

describe('one provisioning contract', () => {
  it('npm start, the systemd unit and a bare-metal install run the same `alga-host start`', () => {
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toMatch(/^node bin\/alga-host\.js start\b/);
    expect(pkg.bin['alga-host']).toBe('bin/alga-host.js');
    const execStart = /^ExecStart=(.*)$/m.exec(example('alga-host.service'))![1].split(/\s+/);
    expect(execStart[0]).toMatch(/\/alga-host$/);
    expect(execStart[1]).toBe('start');
    const dataDir = execStart[execStart.indexOf('--data') + 1];
    const provision = cloudInitProvisionFile();
    expect(provision.path).toBe(`${dataDir}/provision.env`);
    expect(provision.permissions).toBe('0600');
    expect(example('cloud-init.yaml')).not.toMatch(/init-secrets|openssl|setup-token|alga-host setup/);
  });

  it('the cloud-init provision.env parses, and its sample password is refused', async () => {
    const provision = cloudInitProvisionFile();
    const input = parseProvisionEnv(provision.content);
    expect(input.password).toBeTruthy();
    const dataDir = join(root, 'sample-provision');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dataDir, 'provision.env'), provision.content.replace(/^ALGA_INSTALL_CODE=.*$/m, ''), { mode: 0o600 });
    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    started.push(host);
    expect(host.output()).toContain('E_PASSWORD_WEAK');
    expect((await request(`${host.url}/setup/status`)).json).toEqual({ claimed: false });
  });

  it('the same command with a real provision.env (as cloud-init writes it) boots pre-claimed, generating every secret first', async () => {
    const dataDir = join(root, 'appliance');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const password = `pw-${randomBytes(12).toString('base64url')}`;
    const content = cloudInitProvisionFile().content.replace(/^ALGA_ADMIN_PASSWORD=.*$/m, `ALGA_ADMIN_PASSWORD=${password}`).replace(/^ALGA_INSTALL_CODE=.*$/m, '').replace(/^ALGA_PROVIDER_KEY=.*$/m, `ALGA_PROVIDER_KEY=sk-${randomBytes(8).toString('hex')}`);
    writeFileSync(join(dataDir, 'provision.env'), content, { mode: 0o600 });
    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    started.push(host);
    for (const file of ['encryption-keys.json', 'session-key', 'runner-service-token', 'runner-keypair.json']) {
      expect(statSync(join(dataDir, 'secrets', file)).mode & 0o777).toBe(0o600);
    }
    expect(existsSync(join(dataDir, 'provision.env'))).toBe(false);
    expect(await signIn(host.url, 'admin', password)).toBeDefined();
    expect(host.output()).not.toContain(password);
  });

  it('ALGA_SETUP_CONSOLE shows the setup token on that console instead of stdout', async () => {
    const dataDir = join(root, 'console');
    const consoleFile = join(root, 'tty1');
    const host = await startHostProcess({ dataDir, profile: 'appliance', env: { ALGA_SETUP_CONSOLE: consoleFile } });
    started.push(host);
    const token = readFileSync(join(dataDir, 'setup-token'), 'utf8').trim();
    expect(readFileSync(consoleFile, 'utf8')).toContain(token);
    expect(host.output()).not.toContain(token);
    expect(host.output()).toContain(`shown on ${consoleFile}`);
  });

  it('`alga-host start` refuses a malformed pinned license key set (ALGA_LICENSE_PUBLIC_KEYS) instead of failing claims later', async () => {
    const refused = await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'start', '--data', join(root, 'pinned'), '--port', '0', '--profile', 'appliance'], {
      cwd: projectRoot,
      env: { ...process.env, RUNNER_BASE_URL: NO_RUNNER, ALGA_LICENSE_PUBLIC_KEYS: '{"keys": [' },
      timeout: 30_000,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error E_HOST_CONFIG_INVALID: .*ALGA_LICENSE_PUBLIC_KEYS is not a JWKS/m);
  });

  it('`alga-host start` refuses to start on a weak, placeholder or missing secret, naming it', async () => {
    const dataDir = join(root, 'weak');
    await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'init-secrets', '--data', dataDir, '--profile', 'appliance'], { cwd: projectRoot });
    const start = () =>
      run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), 'start', '--data', dataDir, '--port', '0', '--profile', 'appliance'], { cwd: projectRoot, env: { ...process.env, RUNNER_BASE_URL: NO_RUNNER }, timeout: 30_000 }).then(
        () => ({ code: 0, stderr: '' }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
    const docSample = /```sh\n[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(readFileSync(join(projectRoot, 'docs/provisioning.md'), 'utf8'))![1];
    writeFileSync(join(dataDir, 'secrets', 'runner-service-token'), docSample, { mode: 0o600 });
    const placeholder = await start();
    expect(placeholder.code).toBe(1);
    expect(placeholder.stderr).toMatch(/^error E_SECRET_PLACEHOLDER: .*runner service token/m);

    writeFileSync(join(dataDir, 'secrets', 'runner-service-token'), 'x'.repeat(40), { mode: 0o600 });
    expect((await start()).stderr).toMatch(/E_SECRET_WEAK: .*runner service token/);
    rmSync(join(dataDir, 'secrets', 'runner-service-token'));
    rmSync(join(dataDir, 'secrets', 'session-key'));
    writeFileSync(join(dataDir, 'secrets', 'runner-service-token'), randomBytes(32).toString('base64url'), { mode: 0o600 });
    // A missing secret is generated by start (the same generator as init-secrets), never left missing.
    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    started.push(host);
    expect(statSync(join(dataDir, 'secrets', 'session-key')).mode & 0o777).toBe(0o600);
  });
});
