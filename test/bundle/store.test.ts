import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { refusalOf } from '../support/refusal.ts';
import {
  contentHashOf,
  hasStoredBundle,
  listStoredBundles,
  packBundle,
  readStoredBundle,
  readStoredSignatureFile,
  removeStoredBundle,
  storeBundle,
  storeSignatureFile,
  storedBundlePath,
} from '../../lib/bundle/index.ts';
import { example } from './fixtures.ts';

const dir = mkdtempSync(join(tmpdir(), 'alga-store-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const hello = example('hello');
const bytes = packBundle({ manifest: hello.manifest, component: hello.component });
const hash = contentHashOf(bytes);

describe('content-addressed bundle folder', () => {
  it('stores a bundle and its signature file under sha256/<hex>', () => {
    expect(storeBundle(dir, bytes, hash)).toBe(hash);
    storeSignatureFile(dir, hash, { version: 1, contentHash: hash, signatures: [] });
    expect(storedBundlePath(dir, hash)).toBe(join(dir, 'sha256', `${hash.slice(7)}.algabundle`));
    expect(readdirSync(join(dir, 'sha256')).sort()).toEqual([`${hash.slice(7)}.algabundle`, `${hash.slice(7)}.sig.json`]);
    expect(contentHashOf(readStoredBundle(dir, hash)!)).toBe(hash);
    expect(readStoredSignatureFile(dir, hash)).toEqual({ version: 1, contentHash: hash, signatures: [] });
    expect(listStoredBundles(dir)).toEqual([hash]);
    expect(hasStoredBundle(dir, hash)).toBe(true);
  });

  it('refuses bytes that do not have the expected hash, and writes nothing', () => {
    const other = `sha256:${'0'.repeat(64)}`;
    expect(() => storeBundle(dir, bytes, other)).toThrow(expect.objectContaining({ code: 'E_BUNDLE_HASH_MISMATCH' }));
    expect(hasStoredBundle(dir, other)).toBe(false);
    expect(readdirSync(join(dir, 'sha256')).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a hash that is not sha256:<hex>, so it can never name a path outside the folder', () => {
    for (const bad of ['sha256:../../etc/passwd', 'md5:abc', `sha256:${'A'.repeat(64)}`]) {
      expect(refusalOf(() => readStoredBundle(dir, bad)).code).toBe('E_BUNDLE_HASH_INVALID');
    }
  });

  it('answers undefined for a missing bundle and removes both files', () => {
    removeStoredBundle(dir, hash);
    expect(readStoredBundle(dir, hash)).toBeUndefined();
    expect(readStoredSignatureFile(dir, hash)).toBeUndefined();
    expect(listStoredBundles(dir)).toEqual([]);
  });
});
