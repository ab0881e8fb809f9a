import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algaHost } from '../host/alga-host-cli.ts';
import { startHostProcess, type HostProcess } from '../host/host-process.ts';
import { algaExt, trustEntryFrom } from '../support/alga-ext-cli.ts';
import { exampleDir } from '../support/projects.ts';

/**
 * The README's three journeys against one real host process: the operator claims the host and
 * sets up a tenant, a user, tokens and a trusted key from the terminal; the developer packs,
 * signs and publishes; the tenant installs and calls the extension through the gateway.
 */
describe('the README walkthrough', () => {
  const work = mkdtempSync(join(tmpdir(), 'alga-readme-'));
  const dataDir = join(work, 'data');
  const project = join(work, 'hello');
  const password = 'walkthrough pass phrase 7Qx';
  let host: HostProcess;
  let tenantToken = '';
  let publisherToken = '';

  beforeAll(async () => {
    cpSync(exampleDir('hello'), project, { recursive: true, filter: (source) => !source.includes('.alga-cache') });

    const keygen = await algaExt(work, 'keygen', '-o', join(work, '.alga', 'dev.key'), '--publisher', 'example');
    expect(keygen.status, keygen.stderr).toBe(0);
    const entry = trustEntryFrom(keygen.stdout);
    const trusted = await algaHost(['trust', 'add', '--data', dataDir, '--publisher', entry.publisher, '--public-key', entry.publicKey, '--key-id', entry.keyId]);
    expect(trusted.code, trusted.stderr).toBe(0);

    expect((await algaHost(['tenant', 'create', '--data', dataDir, '--name', 'Acme', '--id', 'acme'])).code).toBe(0);
    const user = await algaHost(['user', 'create', '--data', dataDir, '--tenant', 'acme', '--username', 'alice', '--role', 'tenant-admin'], { stdin: password });
    expect(user.code, user.stderr).toBe(0);
    const tenant = await algaHost(['token', 'create', '--data', dataDir, '--kind', 'tenant', '--tenant', 'acme', '--name', 'ci']);
    const publisher = await algaHost(['token', 'create', '--data', dataDir, '--kind', 'publisher', '--publisher', 'example', '--name', 'dev']);
    expect([tenant.code, publisher.code]).toEqual([0, 0]);
    tenantToken = tenant.stdout.trim();
    publisherToken = publisher.stdout.trim();

    host = await startHostProcess({ dataDir, profile: 'all', env: { SIGNING_TRUST_BUNDLE: '' } });
  }, 180_000);

  afterAll(async () => {
    await host?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('starts UNCLAIMED, prints the setup token on the console, and is claimed with it', async () => {
    expect(await (await fetch(`${host.url}/setup/status`)).json()).toEqual({ claimed: false });
    const token = readFileSync(join(dataDir, 'setup-token'), 'utf8').trim();
    expect(host.output()).toContain(token);
    const claim = await fetch(`${host.url}/setup/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token, password: 'operator pass phrase 9Zr', username: 'admin' }),
    });
    expect(claim.status, await claim.text()).toBeLessThan(300);
    expect((await fetch(`${host.url}/setup/status`)).status).toBe(410);
  });

  it('publishes a signed bundle with the publisher token and the key trusted by `alga-host trust add`', async () => {
    const packed = await algaExt(project, 'pack', '-o', 'hello.algabundle');
    expect(packed.status, packed.stderr).toBe(0);
    const hash = /sha256:[0-9a-f]{64}/.exec(packed.stdout)![0];
    expect((await algaExt(project, 'sign', 'hello.algabundle', '--key', join(work, '.alga', 'dev.key'))).status).toBe(0);
    const published = await algaExt(project, 'publish', 'hello.algabundle', '--registry', host.url, '--token', publisherToken);
    expect(published.status, published.stderr).toBe(0);
    expect(published.stdout).toContain(`com.example.hello@1.0.0 ${hash}`);
  });

  it('refuses a bundle signed by a key the host does not trust, and keeps nothing', async () => {
    const stranger = await algaExt(work, 'keygen', '-o', join(work, 'stranger.key'), '--publisher', 'example');
    expect(stranger.status).toBe(0);
    const manifest = JSON.parse(readFileSync(join(project, 'manifest.json'), 'utf8'));
    writeFileSync(join(project, 'manifest.json'), JSON.stringify({ ...manifest, version: '1.0.1' }));
    expect((await algaExt(project, 'pack', '-o', 'other.algabundle')).status).toBe(0);
    expect((await algaExt(project, 'sign', 'other.algabundle', '--key', join(work, 'stranger.key'))).status).toBe(0);
    const refused = await algaExt(project, 'publish', 'other.algabundle', '--registry', host.url, '--token', publisherToken);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('E_SIGNATURE_UNTRUSTED_KEY');
    const versions = await fetch(`${host.url}/api/registry/extensions/com.example.hello`, { headers: { authorization: `Bearer ${tenantToken}` } });
    expect(JSON.stringify(await versions.json())).not.toContain('1.0.1');
  });

  it('installs for the tenant and answers through the gateway with the install config', async () => {
    const install = await fetch(`${host.url}/api/installs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tenantToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ extensionId: 'com.example.hello', config: { greeting_name: 'Ada' } }),
    });
    expect(install.status, await install.text()).toBeLessThan(300);
    const answer = await fetch(`${host.url}/api/ext/com.example.hello/hello`, { headers: { authorization: `Bearer ${tenantToken}` } });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ message: 'Hello, Ada', tenant: 'acme' });
  });

  it('lets the tenant user created from the terminal sign in and see the extension', async () => {
    const login = await fetch(`${host.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0];
    const answer = await fetch(`${host.url}/api/ext/com.example.hello/hello`, { headers: { cookie } });
    expect(await answer.json()).toMatchObject({ message: 'Hello, Ada', tenant: 'acme' });
  });

  it('never writes the tokens or passwords into the host output', () => {
    for (const secret of [tenantToken, publisherToken, password]) expect(host.output()).not.toContain(secret);
  });
});
