import { readdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uploadBundle } from '../../host/plugins/extensions/registry/publish-client.ts';
import { bearer, inProcessHost, type InProcessHost } from './host-app.ts';
import { RawClient, requestHead } from './raw-http.ts';
import { packedExample, sign, signingFixture } from './signed-bundles.ts';

/**
 * The registry's upload limit (REGISTRY_MAX_BUNDLE_BYTES): 413 E_REGISTRY_BUNDLE_TOO_LARGE before
 * the bundle is unpacked — on the declared length before any of the body is read, and while it
 * streams when there is no length — and nothing stored.
 */
describe('registry upload limit', () => {
  const fixture = signingFixture('example');
  const hello = packedExample('hello'); // ~12 MB
  const limit = 1024 * 1024;
  let small: InProcessHost;
  let smallPort: number;
  let publisherToken: string;

  beforeAll(async () => {
    small = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson, REGISTRY_MAX_BUNDLE_BYTES: String(limit) } });
    await small.host.app.listen({ port: 0, host: '127.0.0.1' });
    smallPort = (small.host.app.server.address() as AddressInfo).port;
    publisherToken = small.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
  });
  afterAll(() => small?.close());

  const storedFiles = (h: InProcessHost) => {
    try {
      return readdirSync(join(h.dataDir, 'bundles', 'sha256'));
    } catch {
      return [];
    }
  };
  const expectRefused = (answer: { status: number; headers: Record<string, string>; body: string }) => {
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body)).toEqual({ error: { code: 'E_REGISTRY_BUNDLE_TOO_LARGE', message: expect.stringContaining('REGISTRY_MAX_BUNDLE_BYTES') }, request_id: answer.headers['x-request-id'] });
  };

  it('answers a declared 70 MB publish at the default 64 MB limit with 413 before any of it is sent', async () => {
    const h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    try {
      await h.host.app.listen({ port: 0, host: '127.0.0.1' });
      const token = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
      const client = new RawClient((h.host.app.server.address() as AddressInfo).port);
      client.write(requestHead('POST', '/api/registry/bundles', { ...bearer(token), 'content-type': 'application/octet-stream', 'content-length': 70 * 1024 * 1024, 'x-alga-signature': 'e30=' }));
      const [answer] = await client.responses(1);
      expectRefused(answer);
      await client.closed;
      expect(storedFiles(h)).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('cuts a body sent without a length once more than the limit has arrived, and stores nothing', async () => {
    const client = new RawClient(smallPort);
    client.write(requestHead('POST', '/api/registry/bundles', { ...bearer(publisherToken), 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked', 'x-alga-signature': 'e30=' }));
    const piece = Buffer.alloc(64 * 1024, 7);
    const chunk = Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]);
    // Twice the limit at most; the answer comes before that.
    for (let sent = 0; sent < 2 * limit && !client.socket.destroyed && client.received === ''; sent += piece.length) {
      if (!client.write(chunk)) await new Promise((resolve) => client.socket.once('drain', resolve));
    }
    const [answer] = await client.responses(1);
    expectRefused(answer);
    expect(storedFiles(small)).toEqual([]);
  });

  it('refuses a JSON upload whose bundle decodes above the limit, without unpacking it', async () => {
    const bundle = Buffer.alloc(limit + 1024, 1); // not even an archive: the size check comes first
    const answer = await small.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(publisherToken), payload: { bundle_b64: bundle.toString('base64'), signatures: sign(bundle, fixture.key) } });
    expect(answer.statusCode).toBe(413);
    expect(answer.json().error.code).toBe('E_REGISTRY_BUNDLE_TOO_LARGE');
  });

  it('alga-ext publish gets the 413 before it sends the body (Expect: 100-continue) and reports the catalog code', async () => {
    const progress: number[] = [];
    const answer = await uploadBundle({ registryUrl: `http://127.0.0.1:${smallPort}`, token: publisherToken, bytes: hello.bytes, signatureFile: sign(hello.bytes, fixture.key), onProgress: (sent) => progress.push(sent) });
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('E_REGISTRY_BUNDLE_TOO_LARGE');
    expect(progress).toEqual([]); // not one byte of the bundle went out
    expect(storedFiles(small)).toEqual([]);
  });

  it('still publishes a bundle within the limit, in either form', async () => {
    const h = await inProcessHost({ env: { SIGNING_TRUST_BUNDLE: fixture.trustBundleJson } });
    try {
      await h.host.app.listen({ port: 0, host: '127.0.0.1' });
      const token = h.host.auth.createToken({ kind: 'publisher', publisher: 'example' }).token;
      const raw = await uploadBundle({ registryUrl: `http://127.0.0.1:${(h.host.app.server.address() as AddressInfo).port}`, token, bytes: hello.bytes, signatureFile: sign(hello.bytes, fixture.key) });
      expect(raw.status).toBe(201);
      const json = await h.host.app.inject({ method: 'POST', url: '/api/registry/bundles', headers: bearer(token), payload: { bundle_b64: Buffer.from(hello.bytes).toString('base64'), signatures: sign(hello.bytes, fixture.key) } });
      expect(json.statusCode).toBe(200); // the same hash again
      expect(json.json().contentHash).toBe(hello.hash);
    } finally {
      await h.close();
    }
  });
});
