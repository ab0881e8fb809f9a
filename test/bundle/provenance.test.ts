import { describe, expect, it } from 'vitest';
import { contentHashOf, packBundle, reproducibilityOf, sourceArchiveOf, sourceHashOf, unpackBundle, type Provenance } from '../../lib/bundle/index.ts';
import { example, text } from './fixtures.ts';

const { manifest, component } = example('hello');
const source = new Map([['manifest.json', text(JSON.stringify(manifest))], ['src/index.ts', text('export const handler = 1;\n')]]);

function provenanceFor(files: Map<string, Uint8Array>): Provenance {
  return {
    format: 'alga-provenance@1',
    sourceHash: sourceHashOf(files),
    componentHash: contentHashOf(component),
    buildKey: 'a'.repeat(64),
    toolchain: { 'componentize-js': '0.23.0', node: 'v20.20.2' },
    settings: { entry: 'src/index.ts', platform: 'linux-x64', recipe: '{}' },
  };
}

describe('provenance and source in a bundle', () => {
  it('round-trips, and says what anyone can check: source-attached, provenance, none', () => {
    const withSource = unpackBundle(packBundle({ manifest, component, provenance: provenanceFor(source), sourceArchive: sourceArchiveOf(source) }));
    expect(withSource.provenance).toEqual(provenanceFor(source));
    expect(reproducibilityOf(withSource)).toBe('source-attached');
    expect(reproducibilityOf(unpackBundle(packBundle({ manifest, component, provenance: provenanceFor(source) })))).toBe('provenance');
    expect(reproducibilityOf(unpackBundle(packBundle({ manifest, component })))).toBe('none');
  });

  it('one changed byte of source changes the source hash', () => {
    const changed = new Map(source);
    changed.set('src/index.ts', text('export const handler = 2;\n'));
    expect(sourceHashOf(changed)).not.toBe(sourceHashOf(source));
  });

  it('refuses a source.tar that is not the source provenance.json names, and provenance of another component', () => {
    const other = new Map(source);
    other.set('src/index.ts', text('export const handler = 3;\n'));
    expect(() => packBundle({ manifest, component, provenance: provenanceFor(source), sourceArchive: sourceArchiveOf(other) })).toThrow(
      expect.objectContaining({ code: 'E_PROVENANCE_INVALID' }),
    );
    const elsewhere = { ...provenanceFor(source), componentHash: contentHashOf(text('another component')) };
    expect(() => packBundle({ manifest, component, provenance: elsewhere })).toThrow(expect.objectContaining({ code: 'E_PROVENANCE_INVALID' }));
  });
});
