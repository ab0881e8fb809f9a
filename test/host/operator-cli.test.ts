import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHost, type RunningHost } from '../../host/core/start.ts';
import { algaHost, type CliResult } from './alga-host-cli.ts';
import { tempDir } from './temp-dir.ts';
import { freePort } from '../../host/core/runner/free-port.ts';
import { repoRoot } from '../support/projects.ts';

/**
 * `alga-host tenant|user|token create`: the real CLI on a real LMDB data folder, first before the
 * host ever started, then while a host started with startHost has the same store open.
 */
describe('alga-host tenant, user and token create (operator commands on the data folder)', () => {
  const dir = tempDir();
  const data = dir.path;
  let running: RunningHost | undefined;
  let adminToken: string;

  afterAll(async () => {
    await running?.close();
    dir.remove();
  });

  const api = async (path: string, init: { method?: string; token?: string; body?: unknown; cookie?: string } = {}) => {
    const headers: Record<string, string> = {};
    if (init.token) headers.authorization = `Bearer ${init.token}`;
    if (init.cookie) headers.cookie = init.cookie;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${running!.url}${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
    return { status: response.status, text: await response.text(), setCookie: response.headers.get('set-cookie') ?? '' };
  };
  const login = (username: string, password: string) => api('/api/auth/login', { method: 'POST', body: { username, password } });
  const me = async (token: string) => JSON.parse((await api('/api/auth/me', { token })).text).principal;
  const expectRefused = (result: CliResult, code: string) => {
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^error ${code}: \\S`));
    expect(result.stdout).toBe('');
  };

  describe('on a fresh data folder, before the host has started', () => {
    let token: string;
    beforeAll(async () => {
      const tenant = await algaHost(['tenant', 'create', '--data', data, '--id', 'acme', '--name', 'Acme Corp']);
      // A folder with no host yet gets one, with a note (a mistyped --data would otherwise go unnoticed).
      expect(tenant.stderr).toBe(`Note: ${data} held no host data, so a new data folder was set up there. A host started on another folder will not see this; pass the --data (or ALGA_DATA_DIR) that host uses.\n`);
      expect(tenant.stdout).toContain('Created tenant acme ("Acme Corp")');
      const user = await algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'ada', '--role', 'tenant-admin'], { stdin: 'ada has a long password\n' });
      expect(user.stdout).toContain('Created tenant-admin "ada" of tenant acme');
      expect(user.stderr).not.toContain('held no host data');
      const created = await algaHost(['token', 'create', '--data', data, '--kind', 'tenant', '--tenant', 'acme', '--name', 'ci']);
      expect(created.code).toBe(0);
      token = created.stdout.trim();
      running = await startHost({ dataDir: data, port: 0, host: '127.0.0.1', profile: 'appliance', logLevel: 'silent', announce: () => {}, env: { RUNNER_BASE_URL: 'http://127.0.0.1:9' } });
      adminToken = running.host.auth.createToken({ kind: 'service', label: 'test admin', scopes: ['admin'] }).token;
    });

    it('the started host signs the user in with the password read from stdin', async () => {
      const response = await login('ada', 'ada has a long password');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text).user).toMatchObject({ username: 'ada', role: 'tenant-admin', tenantId: 'acme' });
      expect((await login('ada', 'ada has a long password\n')).status).toBe(401);
    });

    it('the started host accepts the tenant token, bound to the tenant with the kind\'s scopes', async () => {
      expect(token).toMatch(/^alga_t_[A-Za-z0-9_-]{43}$/);
      expect(await me(token)).toMatchObject({ kind: 'token', name: 'ci', tenantId: 'acme', scopes: ['ext:call', 'installs:read', 'installs:write', 'registry:read'] });
    });
  });

  describe('while the host is running on the same store', () => {
    it('creates a tenant the host lists on its next request', async () => {
      const result = await algaHost(['tenant', 'create', '--data', data, '--id', 'globex', '--name', 'Globex']);
      expect(result.code).toBe(0);
      const tenants = JSON.parse((await api('/api/admin/tenants', { token: adminToken })).text).tenants as { id: string; name: string }[];
      expect(tenants).toContainEqual(expect.objectContaining({ id: 'globex', name: 'Globex' }));
    });

    it('creates a user from --password-file who can sign in at once', async () => {
      const passwordFile = join(data, 'bob-password');
      writeFileSync(passwordFile, 'bob picks a long password\n', { mode: 0o600 });
      const result = await algaHost(['user', 'create', '--data', data, '--tenant', 'globex', '--username', 'bob', '--password-file', passwordFile]);
      expect(result.code).toBe(0);
      expect(result.stdout).not.toContain('bob picks');
      const response = await login('bob', 'bob picks a long password');
      expect(response.status).toBe(200);
      expect(JSON.parse(response.text).user).toMatchObject({ role: 'member', tenantId: 'globex' });
    });

    it('creates a publisher token with the given scopes that works at once', async () => {
      const result = await algaHost(['token', 'create', '--data', data, '--kind', 'publisher', '--publisher', 'example', '--name', 'release pipeline', '--scope', 'registry:read']);
      expect(result.code).toBe(0);
      const token = result.stdout.trim();
      expect(token).toMatch(/^alga_p_/);
      expect(await me(token)).toMatchObject({ name: 'release pipeline', scopes: ['registry:read'] });
      expect((await api('/api/registry/extensions', { token })).status).toBe(200);
      // registry:publish was not granted
      expect((await api('/api/registry/bundles', { method: 'POST', token, body: {} })).status).toBe(403);
    });

    it('prints the token once on stdout and keeps it nowhere: not on stderr, in the audit log, the token list or the store file', async () => {
      const result = await algaHost(['token', 'create', '--data', data, '--kind', 'service', '--name', 'backup job']);
      const lines = result.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      const token = lines[0];
      expect(token).toMatch(/^alga_s_/);
      expect(result.stderr).toMatch(/Created service token tok_\S+ "backup job" \(scopes: registry:read\)/);
      expect(result.stderr).not.toContain(token);
      const audit = await api('/api/admin/audit?action=token.created&limit=1000', { token: adminToken });
      expect(audit.text).toContain('"actor":"system"');
      expect(audit.text).not.toContain(token);
      const tokens = await api('/api/admin/tokens', { token: adminToken });
      expect(tokens.text).toContain('backup job');
      expect(tokens.text).not.toContain(token);
      await running!.store.flushed();
      expect(readFileSync(join(data, 'store', 'data.mdb')).includes(Buffer.from(token))).toBe(false);
      expect(readFileSync(join(data, 'store', 'data.mdb')).includes(Buffer.from(token.slice(7)))).toBe(false);
    });

    it('writes alongside the host without losing either side\'s changes', async () => {
      // The host keeps writing (two requests at a time) for as long as the CLI processes run.
      let cliDone = false;
      const viaCli = Promise.all(Array.from({ length: 3 }, (_, i) => algaHost(['tenant', 'create', '--data', data, '--id', `cli-${i}`, '--name', `CLI ${i}`]))).finally(() => (cliDone = true));
      const hostIds: string[] = [];
      while (!cliDone) {
        const batch = [`host-${hostIds.length}`, `host-${hostIds.length + 1}`];
        hostIds.push(...batch);
        const answers = await Promise.all(batch.map((id) => api('/api/admin/tenants', { method: 'POST', token: adminToken, body: { id, name: id } })));
        expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
      }
      expect((await viaCli).map((result) => result.code)).toEqual([0, 0, 0]);
      expect(hostIds.length).toBeGreaterThan(4);
      const expected = [...hostIds, 'cli-0', 'cli-1', 'cli-2'];
      const ids = (JSON.parse((await api('/api/admin/tenants', { token: adminToken })).text).tenants as { id: string }[]).map((tenant) => tenant.id);
      expect(ids).toEqual(expect.arrayContaining(expected));
      const audit = JSON.parse((await api('/api/admin/audit?action=tenant.created&limit=1000', { token: adminToken })).text).entries as { target: string }[];
      expect(audit.map((entry) => entry.target)).toEqual(expect.arrayContaining(expected.map((id) => `tenant:${id}`)));
    });
  });

  describe('bad input: a code and a sentence, nothing written', () => {
    const tokenCount = async () => JSON.parse((await api('/api/admin/tokens', { token: adminToken })).text).tokens.length as number;
    const userNames = async () => (JSON.parse((await api('/api/admin/users', { token: adminToken })).text).users as { username: string }[]).map((user) => user.username);

    it('refuses tokens for an unknown tenant, of an unknown kind, for no publisher, or with an expiry not in the future', async () => {
      const before = await tokenCount();
      const [unknownTenant, unknownKind, noPublisher, pastExpiry, badExpiry] = await Promise.all([
        algaHost(['token', 'create', '--data', data, '--kind', 'tenant', '--tenant', 'nobody', '--name', 'x']),
        algaHost(['token', 'create', '--data', data, '--kind', 'robot', '--name', 'x']),
        algaHost(['token', 'create', '--data', data, '--kind', 'publisher', '--name', 'x']),
        algaHost(['token', 'create', '--data', data, '--kind', 'service', '--name', 'x', '--expires-at', '2020-01-31T12:00:00Z']),
        algaHost(['token', 'create', '--data', data, '--kind', 'service', '--name', 'x', '--expires-at', 'next week']),
      ]);
      expectRefused(unknownTenant, 'E_TENANT_UNKNOWN');
      expectRefused(unknownKind, 'E_REQUEST_INVALID');
      expectRefused(noPublisher, 'E_REQUEST_INVALID');
      expectRefused(pastExpiry, 'E_TOKEN_EXPIRY_INVALID');
      expect(pastExpiry.stderr).toContain('"2020-01-31T12:00:00Z" is not in the future.');
      expectRefused(badExpiry, 'E_TOKEN_EXPIRY_INVALID');
      expect(badExpiry.stderr).toContain('"next week" is not an ISO 8601 date.');
      expect(await tokenCount()).toBe(before);
    });

    it('refuses a user without a usable password, never taking one from the arguments', async () => {
      const [noStdin, tooShort, missingFile, asArgument, noTenant] = await Promise.all([
        algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'carol']),
        algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'carol'], { stdin: 'short\n' }),
        algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'carol', '--password-file', join(data, 'no-such-file')]),
        algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'carol', '--password', 'carol has a long password']),
        algaHost(['user', 'create', '--data', data, '--username', 'carol'], { stdin: 'carol has a long password\n' }),
      ]);
      expectRefused(noStdin, 'E_PASSWORD_MISSING');
      expectRefused(tooShort, 'E_PASSWORD_TOO_SHORT');
      expectRefused(missingFile, 'E_PASSWORD_FILE_UNREADABLE');
      expectRefused(asArgument, 'E_CLI_USAGE');
      expect(asArgument.stderr).toContain("Unknown option '--password'.");
      expectRefused(noTenant, 'E_REQUEST_INVALID');
      expect(await userNames()).not.toContain('carol');
      expect((await login('carol', 'carol has a long password')).status).toBe(401);
    });

    it('reports an unexpected failure as E_CLI_UNEXPECTED with its message, and its stack trace only with ALGA_DEBUG=1', async () => {
      const file = join(data, 'a-file');
      writeFileSync(file, '');
      const args = ['tenant', 'create', '--data', join(file, 'data'), '--name', 'Nowhere'];
      const [plain, debug] = await Promise.all([algaHost(args, { env: { ALGA_DEBUG: '' } }), algaHost(args, { env: { ALGA_DEBUG: '1' } })]);
      expectRefused(plain, 'E_CLI_UNEXPECTED');
      expect(plain.stderr).toContain('ENOTDIR');
      expect(plain.stderr.trim().split('\n')).toHaveLength(1);
      expect(plain.stderr).not.toMatch(/^\s+at /m);
      expectRefused(debug, 'E_CLI_UNEXPECTED');
      expect(debug.stderr).toMatch(/^\s+at /m);
    });

    it('refuses a tenant id that exists, and a user name that exists', async () => {
      const [tenant, user] = await Promise.all([
        algaHost(['tenant', 'create', '--data', data, '--id', 'acme', '--name', 'Another Acme']),
        algaHost(['user', 'create', '--data', data, '--tenant', 'acme', '--username', 'ADA'], { stdin: 'another long password' }),
      ]);
      expectRefused(tenant, 'E_TENANT_EXISTS');
      expectRefused(user, 'E_USER_EXISTS');
      const tenants = JSON.parse((await api('/api/admin/tenants', { token: adminToken })).text).tenants as { id: string; name: string }[];
      expect(tenants.find((t) => t.id === 'acme')?.name).toBe('Acme Corp');
      expect((await login('ada', 'ada has a long password')).status).toBe(200);
    });
  });
});

describe('alga-host start reads its defaults from the environment, as the other commands do', () => {
  it('ALGA_DATA_DIR, ALGA_PORT and ALGA_PROFILE choose the folder, port and profile when no flag is given', async () => {
    const dir = tempDir();
    const port = await freePort();
    const env: Record<string, string | undefined> = { ...process.env, ALGA_DATA_DIR: dir.path, ALGA_PORT: String(port), ALGA_PROFILE: 'appliance', ALGA_LOG_LEVEL: 'warn', RUNNER_BASE_URL: 'http://127.0.0.1:9' };
    const child = spawn(process.execPath, [join(repoRoot, 'bin', 'alga-host.js'), 'start'], { cwd: dir.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      await expect.poll(() => output, { timeout: 60_000 }).toMatch(/alga-host listening on/);
      expect(output).toContain(`alga-host listening on http://127.0.0.1:${port} (profile appliance, data ${dir.path})`);
      // The tenant an operator creates with the same ALGA_DATA_DIR is this host's.
      expect((await algaHost(['tenant', 'create', '--id', 'envco', '--name', 'Env Co'], { env: { ALGA_DATA_DIR: dir.path } })).code).toBe(0);
    } finally {
      child.kill('SIGTERM');
      await exited;
      dir.remove();
    }
  });
});

describe('alga-host trust add, where SIGNING_TRUST_BUNDLE is set', () => {
  it('still writes the data folder\'s file, and warns that a host started with that variable trusts another bundle', async () => {
    const dir = tempDir();
    try {
      const key = Buffer.alloc(32, 9).toString('base64');
      const elsewhere = join(dir.path, 'etc-trust.json');
      const added = await algaHost(['trust', 'add', '--data', dir.path, '--publisher', 'example', '--public-key', key], { env: { SIGNING_TRUST_BUNDLE: elsewhere } });
      expect(added.code, added.stderr).toBe(0);
      expect(added.stderr).toBe(`warning: SIGNING_TRUST_BUNDLE is set here (${elsewhere}): a host started with it trusts that bundle, not ${join(dir.path, 'trust-bundle.json')}; change that one, or unset SIGNING_TRUST_BUNDLE where the host starts.\n`);
      expect(JSON.parse(readFileSync(join(dir.path, 'trust-bundle.json'), 'utf8')).keys).toEqual([expect.objectContaining({ publisher: 'example', publicKey: key })]);
      const quiet = await algaHost(['trust', 'add', '--data', dir.path, '--publisher', 'other', '--public-key', Buffer.alloc(32, 8).toString('base64')], { env: { SIGNING_TRUST_BUNDLE: '' } });
      expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    } finally {
      dir.remove();
    }
  });
});
