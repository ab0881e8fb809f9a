import { describe, expect, it } from 'vitest';
import { refusalOf } from '../support/refusal.ts';
import { packBundle, unpackBundle } from '../../lib/bundle/index.ts';
import { example, text } from './fixtures.ts';
import { rawTar, type RawEntry } from './raw-tar.ts';

const hello = example('hello');
const manifestBytes = text(JSON.stringify(hello.manifest));
const base: RawEntry[] = [
  { name: 'component.wasm', bytes: hello.component },
  { name: 'manifest.json', bytes: manifestBytes },
];

const refusal = (bytes: Uint8Array, limits?: Parameters<typeof unpackBundle>[1]) => refusalOf(() => unpackBundle(bytes, limits));

describe('unpackBundle refuses hostile archives', () => {
  it('accepts the hand-made archive when nothing is wrong with it', () => {
    const bundle = unpackBundle(rawTar(base));
    expect(bundle.manifest.name).toBe('com.example.hello');
    expect(Buffer.from(bundle.component).equals(hello.component)).toBe(true);
  });

  it('refuses a ../ path', () => {
    const result = refusal(rawTar([...base, { name: 'ui/../../etc/passwd', bytes: text('x') }]));
    expect(result.code).toBe('E_BUNDLE_UNSAFE_PATH');
    expect(result.message).toContain('ui/../../etc/passwd');
  });

  it('refuses an absolute path', () => {
    expect(refusal(rawTar([...base, { name: '/etc/cron.d/evil', bytes: text('x') }])).code).toBe('E_BUNDLE_UNSAFE_PATH');
  });

  it('refuses a symlink entry', () => {
    const result = refusal(rawTar([...base, { name: 'ui/index.html', type: '2', linkName: '/etc/passwd' }]));
    expect(result.code).toBe('E_BUNDLE_LINK_ENTRY');
    expect(result.message).toContain('ui/index.html');
  });

  it('refuses a hard link entry', () => {
    expect(refusal(rawTar([...base, { name: 'ui/x', type: '1', linkName: 'manifest.json' }])).code).toBe('E_BUNDLE_LINK_ENTRY');
  });

  it('refuses a directory or other non-regular entry', () => {
    expect(refusal(rawTar([...base, { name: 'ui/', type: '5' }])).code).toBe('E_BUNDLE_UNSUPPORTED_ENTRY');
    expect(refusal(rawTar([...base, { name: 'ui/fifo', type: '6' }])).code).toBe('E_BUNDLE_UNSUPPORTED_ENTRY');
  });

  it('refuses the same path twice', () => {
    const result = refusal(rawTar([...base, { name: 'manifest.json', bytes: manifestBytes }]));
    expect(result.code).toBe('E_BUNDLE_DUPLICATE_ENTRY');
  });

  it('refuses an entry over the size limit before reading it', () => {
    const result = refusal(rawTar(base), { maxEntryBytes: 1024 * 1024 });
    expect(result.code).toBe('E_BUNDLE_ENTRY_TOO_LARGE');
    expect(result.message).toContain('component.wasm');
    // A header claiming 8 GB with no data behind it is refused by the claim, not by reading.
    const claimed = rawTar([{ name: 'component.wasm', bytes: text('x'), claimedSize: 0o77777777777 }]);
    expect(refusal(claimed).code).toBe('E_BUNDLE_ENTRY_TOO_LARGE');
  });

  it('refuses entries over the total size or the entry count', () => {
    expect(refusal(rawTar(base), { maxTotalBytes: hello.component.length }).code).toBe('E_BUNDLE_TOO_LARGE');
    const many = Array.from({ length: 20 }, (_, index) => ({ name: `ui/f${index}.txt`, bytes: text('x') }));
    const result = refusal(rawTar([...base, ...many]), { maxEntries: 10 });
    expect(result.code).toBe('E_BUNDLE_TOO_LARGE');
    expect(result.message).toContain('10 entries');
  });

  it('refuses a bundle without manifest.json or component.wasm', () => {
    expect(refusal(rawTar([base[0]])).message).toContain('manifest.json');
    expect(refusal(rawTar([base[1]])).message).toContain('component.wasm');
    expect(refusal(rawTar([base[0]])).code).toBe('E_BUNDLE_MISSING_ENTRY');
  });

  it('refuses files outside manifest.json, component.wasm and ui/', () => {
    expect(refusal(rawTar([...base, { name: 'run.sh', bytes: text('rm -rf /') }])).code).toBe('E_BUNDLE_UNEXPECTED_ENTRY');
  });

  it('refuses truncated archives, trailing data and bad checksums', () => {
    const good = packBundle({ manifest: hello.manifest, component: hello.component });
    expect(refusal(good.subarray(0, good.length - 2048)).code).toBe('E_BUNDLE_CORRUPT');
    const trailing = new Uint8Array(good.length + 512);
    trailing.set(good);
    trailing[good.length + 3] = 1;
    expect(refusal(trailing).code).toBe('E_BUNDLE_CORRUPT');
    const badChecksum = new Uint8Array(good);
    badChecksum[10] ^= 0x01; // inside the first header's name field
    expect(refusal(badChecksum).code).toBe('E_BUNDLE_CORRUPT');
    expect(refusal(new Uint8Array(100)).code).toBe('E_BUNDLE_CORRUPT');
  });

  it('refuses UI files that do not match the manifest assets', () => {
    const manifest = { ...hello.manifest, assets: { 'ui/index.html': `sha256:${'0'.repeat(64)}` } };
    const bytes = rawTar([...base.slice(0, 1), { name: 'manifest.json', bytes: text(JSON.stringify(manifest)) }, { name: 'ui/index.html', bytes: text('<p>swapped</p>') }]);
    expect(refusal(bytes).code).toBe('E_BUNDLE_ASSET_MISMATCH');
    const unlisted = rawTar([...base, { name: 'ui/extra.js', bytes: text('alert(1)') }]);
    expect(refusal(unlisted).code).toBe('E_BUNDLE_ASSET_MISMATCH');
  });
});
