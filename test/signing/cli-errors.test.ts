import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { algaExt, trustEntryFrom, type ProcessResult } from '../support/alga-ext-cli.ts';
import { exampleDir } from '../support/projects.ts';

/**
 * Bad input on the alga-ext command line, the way a user types it: every mistake exits 1 with
 * `error CODE: sentence` as its first line, never a stack trace, and leaves no file behind.
 */
const work = mkdtempSync(join(tmpdir(), 'alga-ext-errors-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ext = (...args: string[]) => algaExt(work, ...args);

function expectRefused(result: ProcessResult, code: string): void {
  expect(result.status, result.stderr).toBe(1);
  expect(result.stdout).toBe('');
  expect(result.stderr).toMatch(new RegExp(`^error ${code}: [A-Z]`));
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

const bundle = join(work, 'hello.algabundle');
const keyPath = join(work, 'dev.key');
const trustPath = join(work, 'trust.json');

beforeAll(async () => {
  const project = join(work, 'hello');
  cpSync(exampleDir('hello'), project, { recursive: true });
  expect((await ext('pack', '-d', project, '-o', bundle)).status).toBe(0);
  const keygen = await ext('keygen', '-o', keyPath, '--publisher', 'example');
  writeFileSync(trustPath, JSON.stringify({ version: 1, keys: [trustEntryFrom(keygen.stdout)] }));
  expect((await ext('sign', bundle, '--key', keyPath)).status).toBe(0);
});

describe('command-line usage', () => {
  it('an unknown option, a missing argument or an unknown command is E_CLI_USAGE', async () => {
    expectRefused(await ext('verify', bundle, '--trust', trustPath, '--bogus'), 'E_CLI_USAGE');
    expectRefused(await ext('verify'), 'E_CLI_USAGE');
    expectRefused(await ext('keygen'), 'E_CLI_USAGE');
    expectRefused(await ext('no-such-command'), 'E_CLI_USAGE');
  });

  it('sign without a key and verify without a trust bundle say which flag to give', async () => {
    const sign = await ext('sign', bundle);
    expectRefused(sign, 'E_CLI_USAGE');
    expect(sign.stderr).toContain('--key');
    const verify = await ext('verify', bundle);
    expectRefused(verify, 'E_CLI_USAGE');
    expect(verify.stderr).toContain('--trust');
  });

  it('run refuses a header or config without a separator and a timeout that is not a number', async () => {
    const project = exampleDir('hello');
    expectRefused(await ext('run', project, '-H', 'no-colon'), 'E_CLI_USAGE');
    expectRefused(await ext('run', project, '-c', 'no-equals'), 'E_CLI_USAGE');
    expectRefused(await ext('run', project, '--timeout-ms', 'soon'), 'E_CLI_USAGE');
    expectRefused(await ext('run', project, '--body-file', join(work, 'missing.json')), 'E_FILE_UNREADABLE');
  });

  it('publish refuses a registry that is not an http(s) URL', async () => {
    expectRefused(await ext('publish', bundle, '--registry', 'localhost:8080', '--token', 'x'), 'E_CLI_USAGE');
  });
});

describe('files that are missing or not what they claim to be', () => {
  it('a missing bundle is E_FILE_UNREADABLE for sign, verify and inspect', async () => {
    const missing = join(work, 'missing.algabundle');
    expectRefused(await ext('sign', missing, '--key', keyPath), 'E_FILE_UNREADABLE');
    expectRefused(await ext('verify', missing, '--trust', trustPath), 'E_FILE_UNREADABLE');
    expectRefused(await ext('inspect', missing), 'E_FILE_UNREADABLE');
  });

  it('a file that is not a bundle is E_BUNDLE_CORRUPT, and sign writes no signature for it', async () => {
    const text = join(work, 'notes.algabundle');
    writeFileSync(text, 'these are my notes, not a bundle\n');
    expectRefused(await ext('inspect', text), 'E_BUNDLE_CORRUPT');
    expectRefused(await ext('sign', text, '--key', keyPath), 'E_BUNDLE_CORRUPT');
    expect(existsSync(`${text}.sig.json`)).toBe(false);
  });

  it('a key file that is not a key is E_KEY_INVALID, and the signature file is left as it was', async () => {
    const before = readFileSync(`${bundle}.sig.json`, 'utf8');
    const notKey = join(work, 'not.key');
    writeFileSync(notKey, '{"hello": "world"}');
    expectRefused(await ext('sign', bundle, '--key', notKey), 'E_KEY_INVALID');
    expectRefused(await ext('sign', bundle, '--key', trustPath), 'E_KEY_INVALID');
    expectRefused(await ext('sign', bundle, '--key', join(work, 'missing.key')), 'E_KEY_INVALID');
    expect(readFileSync(`${bundle}.sig.json`, 'utf8')).toBe(before);
  });

  it('a malformed trust.json is E_TRUST_BUNDLE_INVALID naming the problem', async () => {
    const cases: [string, string][] = [
      ['{"version": 1, "keys": [', 'not JSON'],
      ['[]', '/version'],
      ['{"version": 1, "keys": [{"keyId": "k", "publisher": "example", "publicKey": "short"}]}', '/keys/0/publicKey'],
      ['{"version": 1, "keys": {}}', '/keys'],
    ];
    for (const [text, named] of cases) {
      writeFileSync(join(work, 'bad-trust.json'), text);
      const result = await ext('verify', bundle, '--trust', join(work, 'bad-trust.json'));
      expectRefused(result, 'E_TRUST_BUNDLE_INVALID');
      expect(result.stderr).toContain(named);
    }
    expectRefused(await ext('verify', bundle, '--trust', join(work, 'missing-trust.json')), 'E_TRUST_BUNDLE_INVALID');
    expectRefused(await ext('inspect', bundle, '--trust', join(work, 'bad-trust.json')), 'E_TRUST_BUNDLE_INVALID');
  });

  it('a malformed signature file is E_SIGNATURE_FILE_INVALID', async () => {
    writeFileSync(join(work, 'bad.sig.json'), '{"version": 2}');
    expectRefused(await ext('verify', bundle, '--trust', trustPath, '--signature', join(work, 'bad.sig.json')), 'E_SIGNATURE_FILE_INVALID');
  });
});

describe('outputs that cannot be written', () => {
  it('pack into a path under a file, or onto a folder, is E_FILE_UNWRITABLE and leaves no temporary file', async () => {
    const project = join(work, 'hello');
    expectRefused(await ext('pack', '-d', project, '-o', join(bundle, 'x.algabundle')), 'E_FILE_UNWRITABLE');
    const folder = join(work, 'a-folder');
    mkdirSync(folder);
    expectRefused(await ext('pack', '-d', project, '-o', folder), 'E_FILE_UNWRITABLE');
    expect(readdirSync(work).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('pack creates the folder of its output', async () => {
    const nested = join(work, 'out', 'nested', 'hello.algabundle');
    const pack = await ext('pack', '-d', join(work, 'hello'), '-o', nested);
    expect(pack.status).toBe(0);
    expect(readFileSync(nested).equals(readFileSync(bundle))).toBe(true);
  });

  it('keygen under a file is E_FILE_UNWRITABLE', async () => {
    expectRefused(await ext('keygen', '-o', join(bundle, 'dev.key')), 'E_FILE_UNWRITABLE');
  });
});
