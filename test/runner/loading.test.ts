import { readFileSync, writeFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeBundle, storeSignatureFile, storedBundlePath } from '../../lib/bundle/index.ts';
import { generateSigningKey } from '../../lib/signing/index.ts';
import { createRunner } from '../../runner/index.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, packOnce, signatureFor, startFixture, type RunnerFixture } from './support.ts';

describe('runner: loading and verifying bundles', () => {
  let fixture: RunnerFixture;

  beforeAll(async () => {
    fixture = await startFixture();
  });
  afterAll(() => fixture?.close());

  it('refuses a tampered bundle at load with 422 naming why, and never runs it', async () => {
    const hash = fixture.publish(guestDir('misbehave'));
    const path = storedBundlePath(fixture.bundleDir, hash);
    const bytes = readFileSync(path);
    bytes[bytes.length - 2000] ^= 0xff;
    writeFileSync(path, bytes);
    const { status, json } = await fixture.execute(executeBody({ hash, path: '/hello', requestId: 'req-tampered' }));
    expect(status).toBe(422);
    expect(json.error.code).toBe('E_RUNNER_VERIFICATION_FAILED');
    expect(json.error.message).toContain('E_BUNDLE_HASH_MISMATCH');
    expect(json.request_id).toBe('req-tampered');
    fixture.publish(guestDir('misbehave')); // the intact bytes again: loads fine (failures are not cached)
    expect((await fixture.execute(executeBody({ hash, path: '/hello' }))).status).toBe(200);
  });

  it('refuses a bundle signed by a key outside the trust bundle, and one without a signature', async () => {
    const other = await startFixture();
    try {
      const bundle = packOnce(guestDir('misbehave'));
      storeBundle(other.bundleDir, bundle.bytes, bundle.hash);
      const untrusted = await other.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
      expect(untrusted.status).toBe(422);
      expect(untrusted.json.error.message).toContain('E_SIGNATURE_MISSING');
      storeSignatureFile(other.bundleDir, bundle.hash, signatureFor(bundle.hash, generateSigningKey()));
      const stranger = await other.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
      expect(stranger.status).toBe(422);
      expect(stranger.json.error.message).toContain('E_SIGNATURE_UNTRUSTED_KEY');
    } finally {
      await other.close();
    }
  });

  it('fetches an unknown hash from the registry with the service token, verifies it and keeps it', async () => {
    const bundle = packOnce(guestDir('misbehave'));
    const registry = Fastify();
    const seenTokens: string[] = [];
    let signingKey = generateSigningKey();
    registry.get('/api/registry/bundles/:hash/blob', async (request, reply) => {
      seenTokens.push(String(request.headers.authorization));
      return (request.params as { hash: string }).hash === bundle.hash ? reply.type('application/octet-stream').send(Buffer.from(bundle.bytes)) : reply.code(404).send();
    });
    registry.get('/api/registry/bundles/:hash/signatures', async () => signatureFor(bundle.hash, signingKey));
    const registryUrl = await registry.listen({ port: 0, host: '127.0.0.1' });
    const remote = await startFixture({ registryUrl });
    try {
      signingKey = remote.signingKeys.test;
      const { status, json } = await remote.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
      expect(status).toBe(200);
      expect(guestJson(json).message).toBe('Hello from misbehave');
      expect(seenTokens).toEqual([`Bearer ${remote.token}`]);
      expect(existsSync(storedBundlePath(remote.bundleDir, bundle.hash))).toBe(true);
    } finally {
      await remote.close();
      await registry.close();
    }
  });

  it('keeps the transpiled component on disk so the next runner process skips transpiling', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'alga-runner-cache-'));
    try {
      const bundle = packOnce(guestDir('misbehave'));
      const trust = fixture.trust;
      const bundleDir = join(dataDir, 'bundles');
      storeBundle(bundleDir, bundle.bytes, bundle.hash);
      storeSignatureFile(bundleDir, bundle.hash, signatureFor(bundle.hash, fixture.signingKeys.test));
      for (const expected of ['miss', 'hit']) {
        const runner = createRunner({ dataDir, trustBundle: trust, workers: 1 });
        try {
          const result = await runner.execute(executeBody({ hash: bundle.hash, path: '/hello' }));
          expect(result.ok).toBe(true);
          const metrics = await runner.registry.getSingleMetricAsString('runner_cache_events_total');
          expect(metrics).toContain(`runner_cache_events_total{cache="transpile",result="${expected}"} 1`);
        } finally {
          await runner.close();
        }
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
