import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureInfraSecrets } from '../../host/core/infra-secrets.ts';
import { decryptString, encryptValue, keyIdOf } from '../../host/core/secrets/encryption.ts';
import { readKeyring } from '../../host/core/secrets/rotation.ts';
import { openStore } from '../../host/core/store.ts';
import { openPostgresStore } from '../../host/core/postgres/postgres-store.ts';
import { createTestDatabase } from '../support/postgres.ts';
import { projectRoot } from '../../host/core/secrets/placeholders.ts';
import { startHostProcess } from './support/host-process.ts';

const run = promisify(execFile);
async function algaHost(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return algaHostWith({}, ...args);
}
async function algaHostWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(projectRoot, 'bin/alga-host.js'), ...args], { cwd: projectRoot, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, stdout: failure.stdout, stderr: failure.stderr };
  }
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'alga-rotate-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

async function seed(values: Record<string, unknown>): Promise<void> {
  const store = openStore(dataDir);
  store.transaction(() => {
    for (const [key, value] of Object.entries(values)) store.db('test.records').putSync(key, value);
  });
  await store.close();
}

async function readAll(): Promise<Record<string, any>> {
  const store = openStore(dataDir);
  const out = Object.fromEntries([...store.db<any, string>('test.records').getRange({})].map(({ key, value }) => [key, value]));
  await store.close();
  return out;
}

describe('alga-host rotate-key encryption', () => {
  it('re-encrypts every stored value under a new key id and retires the old key', async () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const oldId = secrets.encryptionKeys.activeKeyId;
    await seed({ a: { provider: encryptValue('sk-a', secrets.encryptionKeys) }, b: [encryptValue('sk-b', secrets.encryptionKeys)], c: 'plain' });

    const result = await algaHost('rotate-key', 'encryption', '--data', dataDir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const keyring = readKeyring(dataDir);
    expect(keyring.activeKeyId).not.toBe(oldId);
    expect(Object.keys(keyring.keys)).toEqual([keyring.activeKeyId]);
    expect(result.stdout).toContain(`Retired: ${oldId}`);
    expect(statSync(join(dataDir, 'secrets', 'encryption-keys.json')).mode & 0o777).toBe(0o600);

    const records = await readAll();
    expect(keyIdOf(records.a.provider)).toBe(keyring.activeKeyId);
    expect(decryptString(records.a.provider, keyring)).toBe('sk-a');
    expect(decryptString(records.b[0], keyring)).toBe('sk-b');
    expect(records.c).toBe('plain');
  });

  it('reports values it cannot decrypt, exits non-zero, and keeps the keys still in use', async () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const foreign = { activeKeyId: 'ek-foreign', keys: { 'ek-foreign': randomBytes(32) } };
    const oldId = secrets.encryptionKeys.activeKeyId;
    const forged = encryptValue('x', { activeKeyId: oldId, keys: { [oldId]: randomBytes(32) } });
    const lost = encryptValue('sk-lost', foreign);
    await seed({ good: encryptValue('sk-good', secrets.encryptionKeys), lost, corrupt: forged });

    const result = await algaHost('rotate-key', 'encryption', '--data', dataDir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('test.records/lost');
    expect(result.stderr).toContain('test.records/corrupt');
    expect(result.stderr).toContain('E_KEY_ROTATION_INCOMPLETE');
    expect(result.stderr).not.toContain('sk-');
    const keyring = readKeyring(dataDir);
    expect(Object.keys(keyring.keys).sort()).toEqual([keyring.activeKeyId, oldId].sort());
    const records = await readAll();
    expect(decryptString(records.good, keyring)).toBe('sk-good');
    expect(records.lost).toBe(lost);
    expect(records.corrupt).toBe(forged);
  });

  it('refuses to retire a key still in use, and retires it once unused', async () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const oldId = secrets.encryptionKeys.activeKeyId;
    await seed({ a: encryptValue('sk-a', secrets.encryptionKeys) });
    expect((await algaHost('rotate-key', 'encryption', '--data', dataDir, '--retire', oldId)).stderr).toContain('E_KEY_IN_USE');

    const kept = await algaHost('rotate-key', 'encryption', '--data', dataDir, '--keep-old');
    expect(kept.code).toBe(0);
    expect(Object.keys(readKeyring(dataDir).keys)).toContain(oldId);
    const retired = await algaHost('rotate-key', 'encryption', '--data', dataDir, '--retire', oldId);
    expect(retired.code).toBe(0);
    expect(Object.keys(readKeyring(dataDir).keys)).not.toContain(oldId);
    expect(readFileSync(join(dataDir, 'secrets', 'encryption-keys.json'), 'utf8')).not.toContain(oldId);
  });

  it('rotates a real claimed host store: the provider key sealed by the claim decrypts under the new key id', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dataDir, 'pw'), 'rotation test passphrase 88', { mode: 0o600 });
    writeFileSync(join(dataDir, 'pk'), 'sk-rotation-provider-key', { mode: 0o600 });
    const claimed = await algaHost('setup', '--data', dataDir, '--profile', 'appliance', '--password-file', join(dataDir, 'pw'), '--provider-key-file', join(dataDir, 'pk'));
    expect(claimed.stderr).toBe('');
    const before = readKeyring(dataDir).activeKeyId;
    const rotated = await algaHost('rotate-key', 'encryption', '--data', dataDir);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toContain('Re-encrypted 1 value(s).');
    const keyring = readKeyring(dataDir);
    expect(Object.keys(keyring.keys)).toEqual([keyring.activeKeyId]);
    expect(keyring.activeKeyId).not.toBe(before);
    const store = openStore(dataDir);
    try {
      const sealed = store.db<string, string>('setup.provider').get('provider-key')!;
      expect(keyIdOf(sealed)).toBe(keyring.activeKeyId);
      expect(decryptString(sealed, keyring)).toBe('sk-rotation-provider-key');
    } finally {
      await store.close();
    }
  });

  it('on a fleet node\'s folder, keeps every earlier key and refuses to retire one: values in the fleet\'s PostgreSQL stay readable', async () => {
    const database = await createTestDatabase('rotate_fleet');
    const fleetStore = openPostgresStore({ url: database.url });
    try {
      // A node's folder: its secrets only; the values live in PostgreSQL, sealed with its key.
      const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
      const oldId = secrets.encryptionKeys.activeKeyId;
      fleetStore.transaction(() => fleetStore.db('test.records').putSync('provider', encryptValue('sk-fleet', secrets.encryptionKeys)));

      const rotated = await algaHost('rotate-key', 'encryption', '--data', dataDir);
      expect(rotated.code).toBe(0);
      expect(rotated.stdout).toContain('every earlier key was kept');
      expect(rotated.stdout).not.toContain('Retired');
      const keyring = readKeyring(dataDir);
      expect(keyring.activeKeyId).not.toBe(oldId);
      expect(Object.keys(keyring.keys).sort()).toEqual([keyring.activeKeyId, oldId].sort());
      expect(decryptString(fleetStore.db<string, string>('test.records').get('provider')!, keyring)).toBe('sk-fleet');
      expect(existsSync(join(dataDir, 'store'))).toBe(false);

      const retire = await algaHost('rotate-key', 'encryption', '--data', dataDir, '--retire', oldId);
      expect(retire.code).toBe(1);
      expect(retire.stderr).toContain('E_KEY_IN_USE');
      expect(Object.keys(readKeyring(dataDir).keys)).toContain(oldId);
      const runnerRetire = await algaHost('rotate-key', 'runner-envelope', '--data', dataDir, '--retire', secrets.runnerKeys.activeKeyId);
      expect(runnerRetire.stderr).toContain('E_KEY_IN_USE');

      // A folder that also holds an embedded store, run with the fleet's database named: the same.
      await seed({ stale: encryptValue('sk-stale', readKeyring(dataDir)) });
      const named = await algaHostWith({ ALGA_DATABASE_URL: database.url }, 'rotate-key', 'encryption', '--data', dataDir);
      expect(named.code).toBe(0);
      expect(named.stdout).toContain("the fleet's PostgreSQL database");
      const after = readKeyring(dataDir);
      expect(Object.keys(after.keys)).toHaveLength(3);
      expect(decryptString(fleetStore.db<string, string>('test.records').get('provider')!, after)).toBe('sk-fleet');
    } finally {
      await fleetStore.close();
      await database.drop();
    }
  });

  it('refuses to rotate while a host runs on the data folder (it would keep sealing with its in-memory key)', async () => {
    const host = await startHostProcess({ dataDir, profile: 'appliance' });
    try {
      const before = readFileSync(join(dataDir, 'secrets', 'encryption-keys.json'), 'utf8');
      const refused = await algaHost('rotate-key', 'encryption', '--data', dataDir);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('E_STORE_IN_USE');
      expect(refused.stderr).toContain(String(host.child.pid));
      expect(readFileSync(join(dataDir, 'secrets', 'encryption-keys.json'), 'utf8')).toBe(before);
    } finally {
      await host.stop();
    }
    expect((await algaHost('rotate-key', 'encryption', '--data', dataDir)).code).toBe(0);
  });
});
