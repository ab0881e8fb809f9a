import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { contentHashOf, packBundle, packProjectDir, parseManifest, type Manifest } from '../../lib/bundle/index.ts';
import { addSignature, generateSigningKey, signContentHash, type SigningKey } from '../../lib/signing/index.ts';
import { exampleDir } from '../support/projects.ts';

/** A publisher key, the trust bundle that trusts it, and helpers to pack and sign bundles with it. */
export function signingFixture(publisher = 'example') {
  const key = generateSigningKey();
  const trustBundle = { version: 1, keys: [{ keyId: key.keyId, publisher, publicKey: key.publicKey }] };
  return { key, publisher, trustBundle, trustBundleJson: JSON.stringify(trustBundle) };
}

export function sign(bytes: Uint8Array, key: SigningKey) {
  const hash = contentHashOf(bytes);
  return addSignature(undefined, hash, signContentHash(hash, key));
}

/** Publishes a bundle signed with `key` to a running host (`POST /api/registry/bundles`, JSON form); the answer. */
export function publishSigned(hostUrl: string, publisherToken: string, bytes: Uint8Array, key: SigningKey): Promise<Response> {
  return fetch(`${hostUrl}/api/registry/bundles`, {
    method: 'POST',
    headers: { authorization: `Bearer ${publisherToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ bundle_b64: Buffer.from(bytes).toString('base64'), signatures: sign(bytes, key) }),
  });
}

/** examples/<name> packed (needs its dist/component.wasm from the test global setup). */
export function packedExample(name: string) {
  return packProjectDir(exampleDir(name));
}

/** Another bundle of an example with a changed manifest (same component). */
export function repackedExample(name: string, change: (manifest: Manifest) => Manifest, ui?: Map<string, Uint8Array>): Uint8Array {
  const dir = exampleDir(name);
  const manifest = change(parseManifest(readFileSync(join(dir, 'manifest.json'))));
  return packBundle({ manifest, component: readFileSync(join(dir, 'dist', 'component.wasm')), ...(ui ? { ui } : {}) });
}
