import { mkdtempSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import nacl from 'tweetnacl';
import { ensureInfraSecrets, initInfraSecrets, loadInfraSecrets } from '../../host/core/infra-secrets.ts';
import { placeholderSourceFiles, projectRoot } from '../../host/core/secrets/placeholders.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'alga-secrets-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const secretPath = (file: string) => join(dataDir, 'secrets', file);
const mode = (path: string) => statSync(path).mode & 0o777;

function refusal(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (error) {
    if (isAlgaError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('init-secrets generator', () => {
  it('creates every appliance secret with mode 0600 in a 0700 folder', () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    expect(mode(join(dataDir, 'secrets'))).toBe(0o700);
    const files = readdirSync(join(dataDir, 'secrets')).sort();
    expect(files).toEqual(['encryption-keys.json', 'runner-keypair.json', 'runner-service-token', 'session-key']);
    for (const file of files) expect(mode(secretPath(file))).toBe(0o600);
    expect(secrets.encryptionKeys.keys[secrets.encryptionKeys.activeKeyId]).toHaveLength(32);
    expect(secrets.sessionKey).toHaveLength(32);
    expect(secrets.runnerServiceToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const derived = nacl.box.keyPair.fromSecretKey(Buffer.from(secrets.runnerKeyPair.secretKey, 'base64')).publicKey;
    expect(Buffer.from(derived).toString('base64')).toBe(secrets.runnerKeyPair.publicKey);
    expect(secrets.licenseSigningKey).toBeUndefined();
  });

  it('adds the Ed25519 license signing key (with a key id) on a control plane', () => {
    const secrets = ensureInfraSecrets(dataDir, { profile: 'control-plane' });
    expect(secrets.licenseSigningKey?.keyId).toMatch(/^lk-/);
    expect(secrets.licenseSigningKey?.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(secrets.downloadLinkKey).toHaveLength(32);
    expect(mode(secretPath('license-signing-key.json'))).toBe(0o600);
  });

  it('generates different values each time (CSPRNG), and never overwrites without --force', () => {
    const first = ensureInfraSecrets(dataDir, { profile: 'all' });
    const before = Object.fromEntries(readdirSync(join(dataDir, 'secrets')).map((f) => [f, readFileSync(secretPath(f), 'utf8')]));
    const again = initInfraSecrets(dataDir, { profile: 'all' });
    expect(again.created).toEqual([]);
    for (const [file, text] of Object.entries(before)) expect(readFileSync(secretPath(file), 'utf8')).toBe(text);
    expect(again.secrets.runnerServiceToken).toBe(first.runnerServiceToken);

    const other = mkdtempSync(join(tmpdir(), 'alga-secrets-'));
    try {
      expect(ensureInfraSecrets(other, { profile: 'all' }).runnerServiceToken).not.toBe(first.runnerServiceToken);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('--force regenerates, keeping the old encryption key readable under its id', () => {
    const first = ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const forced = initInfraSecrets(dataDir, { profile: 'appliance', overwrite: true });
    expect(forced.secrets.runnerServiceToken).not.toBe(first.runnerServiceToken);
    expect(forced.secrets.encryptionKeys.activeKeyId).not.toBe(first.encryptionKeys.activeKeyId);
    const oldId = first.encryptionKeys.activeKeyId;
    expect(forced.secrets.encryptionKeys.keys[oldId]).toEqual(first.encryptionKeys.keys[oldId]);
    for (const file of readdirSync(join(dataDir, 'secrets'))) expect(mode(secretPath(file))).toBe(0o600);
  });
});

describe('a data folder with data', () => {
  it('refuses to silently replace a lost key that stored data depends on; regenerates the others', async () => {
    ensureInfraSecrets(dataDir, { profile: 'appliance' });
    const { openStore } = await import('../../host/core/store.ts');
    await openStore(dataDir).close();
    rmSync(secretPath('session-key'));
    expect(ensureInfraSecrets(dataDir, { profile: 'appliance' }).sessionKey).toHaveLength(32);
    rmSync(secretPath('encryption-keys.json'));
    const error = refusal(() => ensureInfraSecrets(dataDir, { profile: 'appliance' }));
    expect(error.code).toBe('E_SECRET_MISSING');
    expect(error.message).toMatch(/encryption key .*restore the file from a backup/);
    expect(initInfraSecrets(dataDir, { profile: 'appliance', overwrite: true }).created).toContain('encryption key');
  });
});

describe('start refuses bad secrets with a sentence naming the secret', () => {
  beforeEach(() => {
    ensureInfraSecrets(dataDir, { profile: 'all' });
  });

  it('missing', () => {
    rmSync(secretPath('session-key'));
    const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
    expect(error.code).toBe('E_SECRET_MISSING');
    expect(error.message).toContain('session signing key');
  });

  it('too short', () => {
    writeFileSync(secretPath('runner-service-token'), randomBytes(12).toString('base64url'));
    const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
    expect(error.code).toBe('E_SECRET_WEAK');
    expect(error.message).toContain('runner service token');
  });

  it('low entropy (repeated, sequential, hand-typed)', () => {
    for (const token of ['a'.repeat(48), 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ', 'thisismysupersecretrunnertokenpleasedonttell']) {
      writeFileSync(secretPath('runner-service-token'), token);
      expect(refusal(() => loadInfraSecrets(dataDir, { profile: 'all' })).code).toBe('E_SECRET_WEAK');
    }
    writeFileSync(secretPath('session-key'), Buffer.alloc(32, 7).toString('base64'));
    const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'appliance' }));
    expect(error.code).toBe('E_SECRET_WEAK');
    expect(error.message).toContain('session signing key');
  });

  it('readable by other users', () => {
    chmodSync(secretPath('encryption-keys.json'), 0o644);
    const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
    expect(error.code).toBe('E_SECRET_FILE_MODE');
    expect(error.message).toContain('encryption key');
  });

  it('a runner key pair whose halves do not match', () => {
    const pair = JSON.parse(readFileSync(secretPath('runner-keypair.json'), 'utf8'));
    pair.publicKey = Buffer.from(nacl.box.keyPair().publicKey).toString('base64');
    writeFileSync(secretPath('runner-keypair.json'), JSON.stringify(pair));
    expect(refusal(() => loadInfraSecrets(dataDir, { profile: 'all' })).message).toContain('runner key pair');
  });

  it('a value copied from the docs, even one that looks random', () => {
    const docs = readFileSync(join(projectRoot, 'docs/provisioning.md'), 'utf8');
    const sample = /```sh\n[^\n]*runner-service-token[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(docs)?.[1];
    expect(sample).toBeDefined();
    writeFileSync(secretPath('runner-service-token'), `${sample}\n`);
    const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
    expect(error.code).toBe('E_SECRET_PLACEHOLDER');
    expect(error.message).toContain('runner service token');
  });

  it('a key copied from the docs is refused by its bytes, whatever base64 spelling it is written in', () => {
    const docs = readFileSync(join(projectRoot, 'docs/provisioning.md'), 'utf8');
    const sample = /```sh\n[^\n]*runner-service-token[^\n]*\n([A-Za-z0-9_-]{43})\n/.exec(docs)![1];
    const bytes = Buffer.from(sample, 'base64url');
    const spellings = [bytes.toString('base64'), bytes.toString('base64').replace(/=+$/, ''), bytes.toString('base64url'), `${bytes.toString('base64url')}=`];
    expect(new Set(spellings).size).toBeGreaterThan(2);
    for (const spelling of spellings) {
      writeFileSync(secretPath('session-key'), `${spelling}\n`);
      const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
      expect([error.code, spelling]).toEqual(['E_SECRET_PLACEHOLDER', spelling]);
      expect(error.message).toContain('session signing key');
    }
    rmSync(secretPath('session-key'));
    ensureInfraSecrets(dataDir, { profile: 'all' });
    writeFileSync(secretPath('download-link-key'), bytes.toString('base64'));
    expect(refusal(() => loadInfraSecrets(dataDir, { profile: 'all' })).message).toContain('download link signing key');
    writeFileSync(secretPath('download-link-key'), randomBytes(32).toString('base64'));
    // A token is text, but its randomness is what the docs published: the standard-alphabet spelling is refused too.
    writeFileSync(secretPath('runner-service-token'), bytes.toString('base64'));
    expect(refusal(() => loadInfraSecrets(dataDir, { profile: 'all' })).code).toBe('E_SECRET_PLACEHOLDER');
  });

  it('every value assigned in the docs, examples and sample config is refused as a token', () => {
    const assigned = new Set<string>();
    for (const file of placeholderSourceFiles()) {
      for (const match of readFileSync(file, 'utf8').matchAll(/^\s*[A-Za-z_]+[=:]\s*["']?([^\s"'#]{8,})/gm)) assigned.add(match[1]);
    }
    expect(assigned.size).toBeGreaterThan(5);
    for (const value of assigned) {
      writeFileSync(secretPath('runner-service-token'), value);
      const error = refusal(() => loadInfraSecrets(dataDir, { profile: 'all' }));
      expect(['E_SECRET_PLACEHOLDER', 'E_SECRET_WEAK', 'E_SECRET_INVALID'], value).toContain(error.code);
    }
  });

  it('scans the docs at check time: a value added to a doc later is refused', () => {
    const root = mkdtempSync(join(tmpdir(), 'alga-docs-'));
    try {
      const token = randomBytes(32).toString('base64url');
      writeFileSync(secretPath('runner-service-token'), token);
      expect(loadInfraSecrets(dataDir, { profile: 'all', placeholderRoot: root }).runnerServiceToken).toBe(token);
      mkdirSync(join(root, 'docs'));
      writeFileSync(join(root, 'docs', 'setup.md'), `Set RUNNER_SERVICE_TOKEN="${token}" in your env.\n`);
      expect(refusal(() => loadInfraSecrets(dataDir, { profile: 'all', placeholderRoot: root })).code).toBe('E_SECRET_PLACEHOLDER');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('profiles', () => {
  it('refuses an unknown profile before writing anything', () => {
    const error = refusal(() => initInfraSecrets(dataDir, { profile: 'control_plane' }));
    expect(error.code).toBe('E_PROFILE_UNKNOWN');
    expect(error.message).toContain('control_plane');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});
