import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { contentHashOf, packBundle, parseManifest, parseProvenance, sourceArchiveOf } from '../../lib/bundle/index.ts';
import { projectSourceFiles } from '../../lib/build/source-files.ts';
import { exampleDir } from '../support/projects.ts';
import { generateSigningKey } from '../../lib/signing/index.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { packedExample, repackedExample, sign, signingFixture } from './signed-bundles.ts';

describe('registry v2: publish, verify, store', () => {
  const fixture = signingFixture('example');
  const rival = signingFixture('rival');
  const trustBoth = JSON.stringify({ version: 1, keys: [...fixture.trustBundle.keys, ...rival.trustBundle.keys] });
  let h: InProcessHost;
  let publisherToken: string;
  let otherPublisherToken: string;
  let tenantToken: string;
  const hello = packedExample('hello');

  beforeAll(async () => {
    h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: trustBoth } });
    publisherToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    otherPublisherToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'someone-else' }).token;
    h.host.auth.createTenant({ id: 'a', name: 'A' });
    tenantToken = h.host.auth.createToken({ kind: 'tenant', tenantId: 'a' }).token;
  });
  afterAll(async () => h?.close());

  const inject = (options: InjectOptions) => h.host.app.inject(options);
  const publishRaw = (bytes: Uint8Array, signatureFile: unknown, token = publisherToken) =>
    inject({
      method: 'POST', url: '/api/registry/bundles',
      headers: { ...bearer(token), 'content-type': 'application/octet-stream', ...(signatureFile ? { 'x-alga-signature': Buffer.from(JSON.stringify(signatureFile)).toString('base64') } : {}) },
      payload: Buffer.from(bytes),
    });
  const storedFiles = () => {
    try {
      return readdirSync(join(h.dataDir, 'bundles', 'sha256'));
    } catch {
      return [];
    }
  };
  const expectNothingStored = async (before: string[], extensionsBefore: number) => {
    expect(storedFiles()).toEqual(before);
    const listed = await inject({ method: 'GET', url: '/api/registry/extensions', headers: bearer(publisherToken) });
    expect(listed.json().extensions).toHaveLength(extensionsBefore);
  };

  it('refuses unsigned, tampered, untrusted and wrongly-published bundles and stores nothing', async () => {
    const before = storedFiles();
    const unsigned = await publishRaw(hello.bytes, undefined);
    expect(unsigned.statusCode).toBe(400);
    expect(unsigned.json().error.code).toBe('E_SIGNATURE_MISSING');

    const tampered = Buffer.from(hello.bytes);
    tampered[tampered.length - 600] ^= 0xff;
    const tamperedAnswer = await publishRaw(tampered, sign(hello.bytes, fixture.key));
    expect(tamperedAnswer.statusCode).toBe(400);
    expect(tamperedAnswer.json().error.code).toBe('E_BUNDLE_HASH_MISMATCH');

    const untrusted = await publishRaw(hello.bytes, sign(hello.bytes, generateSigningKey()));
    expect(untrusted.json().error.code).toBe('E_SIGNATURE_UNTRUSTED_KEY');

    const forged = sign(hello.bytes, fixture.key);
    forged.signatures[0].signature = Buffer.alloc(64, 7).toString('base64');
    expect((await publishRaw(hello.bytes, forged)).json().error.code).toBe('E_SIGNATURE_INVALID');

    const wrongPublisher = await publishRaw(hello.bytes, sign(hello.bytes, fixture.key), otherPublisherToken);
    expect(wrongPublisher.statusCode).toBe(403);
    expect(wrongPublisher.json().error.code).toBe('E_REGISTRY_PUBLISHER_MISMATCH');

    const tenantCannot = await publishRaw(hello.bytes, sign(hello.bytes, fixture.key), tenantToken);
    expect(tenantCannot.statusCode).toBe(403);

    await expectNothingStored(before, 0);
  });

  it('publishes a signed bundle content-addressed; the same hash again is idempotent', async () => {
    const first = await publishRaw(hello.bytes, sign(hello.bytes, fixture.key));
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ created: true, extensionId: 'com.example.hello', version: '1.0.0', contentHash: hello.hash });
    expect(storedFiles()).toEqual([`${hello.hash.slice(7)}.algabundle`, `${hello.hash.slice(7)}.sig.json`]);

    const again = await inject({
      method: 'POST', url: '/api/registry/bundles', headers: bearer(publisherToken),
      payload: { bundle_b64: Buffer.from(hello.bytes).toString('base64'), signatures: sign(hello.bytes, fixture.key) },
    });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ created: false, contentHash: hello.hash });
  });

  it('answers 409 for the same version with other content, and stores nothing of it', async () => {
    const other = repackedExample('hello', (manifest) => ({ ...manifest, description: 'changed bytes, same version' }));
    expect(contentHashOf(other)).not.toBe(hello.hash);
    const before = storedFiles();
    const conflict = await publishRaw(other, sign(other, fixture.key));
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().error.code).toBe('E_REGISTRY_VERSION_CONFLICT');
    expect(conflict.json().error.message).toContain('raise "version" in manifest.json, or pack this build as a prerelease of it (`alga-ext pack --prerelease`)');
    await expectNothingStored(before, 1);
  });

  it('refuses a new version of an extension id from another (trusted) publisher, and stores nothing of it', async () => {
    const rivalToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'rival' }).token;
    const hijack = repackedExample('hello', (manifest) => ({ ...manifest, publisher: 'rival', version: '9.0.0' }));
    const before = storedFiles();
    const answer = await publishRaw(hijack, sign(hijack, rival.key), rivalToken);
    expect(answer.statusCode).toBe(409);
    expect(answer.json().error.code).toBe('E_REGISTRY_EXTENSION_OWNED');
    await expectNothingStored(before, 1);
    const detail = await inject({ method: 'GET', url: '/api/registry/extensions/com.example.hello', headers: bearer(tenantToken) });
    expect(detail.json().extension).toMatchObject({ publisher: 'example', latestVersion: '1.0.0' });
  });

  it('checks the token before reading a publish body', async () => {
    const huge = Buffer.alloc(8 * 1024 * 1024, 1);
    const anonymous = await inject({ method: 'POST', url: '/api/registry/bundles', headers: { 'content-type': 'application/json' }, payload: huge });
    expect(anonymous.statusCode).toBe(401);
    expect(anonymous.json().error.code).toBe('E_AUTH_REQUIRED');
    const tenant = await inject({ method: 'POST', url: '/api/registry/bundles', headers: { ...bearer(tenantToken), 'content-type': 'application/json' }, payload: huge });
    expect(tenant.statusCode).toBe(403);
  });

  it('lists extensions and versions, and serves blob + signatures to the runner service token only', async () => {
    const v2 = repackedExample('hello', (manifest) => ({ ...manifest, version: '1.1.0' }));
    expect((await publishRaw(v2, sign(v2, fixture.key))).statusCode).toBe(201);
    const detail = await inject({ method: 'GET', url: '/api/registry/extensions/com.example.hello', headers: bearer(tenantToken) });
    expect(detail.json().extension.latestVersion).toBe('1.1.0');
    expect(detail.json().versions.map((v: { version: string }) => v.version)).toEqual(['1.1.0', '1.0.0']);
    const version = await inject({ method: 'GET', url: '/api/registry/extensions/com.example.hello/versions/1.0.0', headers: bearer(tenantToken) });
    expect(version.json().version.manifest.api.endpoints).toEqual([{ method: 'GET', path: '/hello' }]);

    const runnerToken = h.secrets.runnerServiceToken;
    const blob = await inject({ method: 'GET', url: `/api/registry/bundles/${hello.hash}/blob`, headers: bearer(runnerToken) });
    expect(blob.statusCode).toBe(200);
    expect(contentHashOf(blob.rawPayload)).toBe(hello.hash);
    const signatures = await inject({ method: 'GET', url: `/api/registry/bundles/${hello.hash}/signatures`, headers: bearer(runnerToken) });
    expect(signatures.json().contentHash).toBe(hello.hash);
    expect((await inject({ method: 'GET', url: `/api/registry/bundles/${hello.hash}/blob` })).statusCode).toBe(401);
    expect((await inject({ method: 'GET', url: `/api/registry/bundles/sha256:${'0'.repeat(64)}/blob`, headers: bearer(runnerToken) })).statusCode).toBe(404);
  });

  it('records what each version lets anyone check about its build: source-attached, provenance or none', async () => {
    const dir = exampleDir('hello');
    const provenance = parseProvenance(readFileSync(join(dir, 'dist', 'provenance.json')));
    const manifest = { ...parseManifest(readFileSync(join(dir, 'manifest.json'))), version: '1.2.0' };
    const withSource = packBundle({ manifest, component: readFileSync(join(dir, 'dist', 'component.wasm')), provenance, sourceArchive: sourceArchiveOf(projectSourceFiles(dir)) });
    expect((await publishRaw(withSource, sign(withSource, fixture.key))).statusCode).toBe(201);
    const detail = await inject({ method: 'GET', url: '/api/registry/extensions/com.example.hello', headers: bearer(tenantToken) });
    const byVersion = Object.fromEntries(detail.json().versions.map((v: { version: string; reproducibility: string }) => [v.version, v.reproducibility]));
    // 1.0.0 is `alga-ext pack` of the built example (dist/provenance.json); 1.1.0 was packed from the component alone.
    expect(byVersion).toEqual({ '1.2.0': 'source-attached', '1.1.0': 'none', '1.0.0': 'provenance' });
  });
});

describe('registry on a host without a trust bundle', () => {
  const fixture = signingFixture('example');
  const hello = packedExample('hello');
  let h: InProcessHost;
  beforeAll(async () => {
    h = await inProcessHost();
  });
  afterAll(async () => h?.close());

  it('answers 503 E_TRUST_BUNDLE_MISSING with what the operator should do, and stores nothing', async () => {
    const publisherToken = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
    const answer = await h.host.app.inject({
      method: 'POST', url: '/api/registry/bundles', headers: bearer(publisherToken),
      payload: { bundle_b64: Buffer.from(hello.bytes).toString('base64'), signatures: sign(hello.bytes, fixture.key) },
    });
    expect(answer.statusCode).toBe(503);
    expect(answer.json().error.code).toBe('E_TRUST_BUNDLE_MISSING');
    expect(answer.json().error.message).toContain('alga-host trust add --publisher NAME --public-key KEY');
    expect(answer.json().error.message).toContain('SIGNING_TRUST_BUNDLE');
    expect(existsSync(join(h.dataDir, 'bundles', 'sha256')) ? readdirSync(join(h.dataDir, 'bundles', 'sha256')) : []).toEqual([]);
    const listed = await h.host.app.inject({ method: 'GET', url: '/api/registry/extensions', headers: bearer(publisherToken) });
    expect(listed.json().extensions).toEqual([]);
  });
});
