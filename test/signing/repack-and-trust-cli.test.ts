import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { algaExt } from '../support/alga-ext-cli.ts';
import { exampleDir } from '../support/projects.ts';

/**
 * The edit → pack → sign → verify loop a developer repeats: a re-packed bundle is re-signed without
 * deleting anything by hand, each build can be a new prerelease, and the trust errors say how to
 * fix them (keygen --trust writes or extends trust.json).
 */
const work = mkdtempSync(join(tmpdir(), 'alga-repack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const ext = (...args: string[]) => algaExt(work, ...args);
const project = join(work, 'hello');
const bundle = join(work, 'hello.algabundle');
const signature = `${bundle}.sig.json`;
const key = join(work, 'dev.key');
const trust = join(work, 'trust.json');

describe('re-packing, re-signing and prereleases', () => {
  it('keygen --trust creates trust.json, and a second key extends it', async () => {
    cpSync(exampleDir('hello'), project, { recursive: true });
    const first = await ext('keygen', '-o', key, '--publisher', 'example', '--trust', trust);
    expect(first.status, first.stderr).toBe(0);
    const second = await ext('keygen', '-o', join(work, 'other.key'), '--publisher', 'example', '--trust', trust);
    expect(second.status, second.stderr).toBe(0);
    const keys = JSON.parse(readFileSync(trust, 'utf8')).keys as Array<{ publisher: string }>;
    expect(keys.map((entry) => entry.publisher)).toEqual(['example', 'example']);
  });

  it('a changed bundle is packed and signed again without removing the old signature file by hand', async () => {
    expect((await ext('pack', '-d', project, '-o', bundle)).status).toBe(0);
    expect((await ext('sign', bundle, '--key', key)).status).toBe(0);
    const firstHash = JSON.parse(readFileSync(signature, 'utf8')).contentHash;

    const manifestPath = join(project, 'manifest.json');
    writeFileSync(manifestPath, readFileSync(manifestPath, 'utf8').replace('"version": "1.0.0"', '"version": "1.0.1"'));
    const repacked = await ext('pack', '-d', project, '-o', bundle);
    expect(repacked.status).toBe(0);
    expect(repacked.stderr).toContain(`it signed ${firstHash}, not this build; sign the new bundle`);
    expect(existsSync(signature)).toBe(false);
    expect((await ext('sign', bundle, '--key', key)).status).toBe(0);
    const verified = await ext('verify', bundle, '--trust', trust);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('@1.0.1');

    // A stale signature file that pack did not see (bundle copied over) is replaced by sign, not refused.
    writeFileSync(signature, readFileSync(signature, 'utf8').replace(/"contentHash": "sha256:[0-9a-f]+"/, `"contentHash": "${firstHash}"`));
    const resigned = await ext('sign', bundle, '--key', key);
    expect(resigned.status, resigned.stderr).toBe(0);
    expect(resigned.stderr).toContain(`it signed ${firstHash}, an earlier build of this file`);
    expect((await ext('verify', bundle, '--trust', trust)).status).toBe(0);
  });

  it('pack --prerelease gives each build a version of its own, above the last and below the release', async () => {
    const packed = await ext('pack', '-d', project, '-o', join(work, 'pre.algabundle'), '--prerelease');
    expect(packed.status, packed.stderr).toBe(0);
    const version = /hello@([^,]+),/.exec(packed.stderr)?.[1] ?? '';
    expect(version).toMatch(/^1\.0\.1-dev\.\d{14}$/);
    const inspected = JSON.parse((await ext('inspect', join(work, 'pre.algabundle'), '--json')).stdout);
    expect(inspected.manifest.version).toBe(version);
    expect(JSON.parse(readFileSync(join(project, 'manifest.json'), 'utf8')).version).toBe('1.0.1');
    const badTag = await ext('pack', '-d', project, '--prerelease', 'no spaces');
    expect(badTag.stderr).toMatch(/^error E_CLI_USAGE: /);
  });

  it('pack warns when the manifest declares no api', async () => {
    const manifestPath = join(project, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    delete manifest.api;
    writeFileSync(manifestPath, JSON.stringify(manifest));
    const packed = await ext('pack', '-d', project, '-o', join(work, 'no-api.algabundle'));
    expect(packed.status).toBe(0);
    expect(packed.stderr).toContain('warning: manifest.json declares no api.endpoints, so the host gateway answers 404 for every path');
  });
});

describe('trust errors that say how to fix them', () => {
  it('a trust file that does not exist names alga-ext keygen --trust', async () => {
    const missing = join(work, 'nowhere', 'trust.json');
    const result = await ext('verify', bundle, '--trust', missing);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`error E_TRUST_BUNDLE_INVALID: The trust bundle is invalid. ${missing} does not exist. Make it with \`alga-ext keygen -o <key file> --trust ${missing}\``);
  });

  it('a key that is not trusted names alga-host trust add', async () => {
    const stranger = join(work, 'stranger.json');
    expect((await ext('keygen', '-o', join(work, 'stranger.key'), '--publisher', 'example', '--trust', stranger)).status).toBe(0);
    const result = await ext('verify', bundle, '--trust', stranger);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error E_SIGNATURE_UNTRUSTED_KEY: .*none is in the trust bundle\. On a host, trust the signer's key with `alga-host trust add --publisher <publisher> --public-key /);
  });
});
