import { createReadStream } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { AlgaError, isAlgaError } from '../../../../lib/errors/index.ts';
import { isContentHash, type BundleBlobs } from '../../../../lib/bundle/index.ts';
import type { TrustBundle } from '../../../../lib/signing/index.ts';
import { actorOf, Scope, type HostAuth } from '../../../core/auth/index.ts';
import type { AuditLog } from '../../../core/audit.ts';
import type { HostEvents } from '../../../core/events.ts';
import { publishBundle } from './publish.ts';
import type { RegistryStore } from './registry-store.ts';
import { parseUpload } from './upload.ts';

export interface RegistryRouteOptions {
  registry: RegistryStore;
  blobs: BundleBlobs;
  trust: () => TrustBundle;
  auth: HostAuth;
  audit: AuditLog;
  maxBundleBytes: number;
  /** Told `registry.published {extensionId, version, contentHash}` after each publish. */
  events?: HostEvents;
}

/** Registry v2 under /api/registry: publish, list, detail, and blob + signatures for runners. */
export async function registryRoutes(app: FastifyInstance, options: RegistryRouteOptions): Promise<void> {
  const { registry, blobs, auth, audit } = options;
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: options.maxBundleBytes }, (_request, body, done) => done(null, body));

  app.post('/bundles', {
    onRequest: auth.requireScope(Scope.registryPublish),
    bodyLimit: Math.ceil(options.maxBundleBytes * 1.4) + 64 * 1024,
  }, async (request, reply) => {
    const principal = auth.principalOf(request)!;
    try {
      const { bytes, signatureFile } = parseUpload(request.body, request.headers);
      const { created, version } = publishBundle({ registry, blobs, trust: options.trust(), bytes, signatureFile, principal });
      audit.record({ action: 'registry.published', actor: actorOf(principal), target: `${version.extensionId}@${version.version}`, detail: { contentHash: version.contentHash, created, signer: version.signer.keyId } });
      options.events?.emit('registry.published', { extensionId: version.extensionId, version: version.version, contentHash: version.contentHash });
      return reply.status(created ? 201 : 200).send({ created, extensionId: version.extensionId, version: version.version, contentHash: version.contentHash, size: version.size, signer: version.signer });
    } catch (error) {
      audit.record({ action: 'registry.publish', outcome: 'denied', actor: actorOf(principal), detail: { code: isAlgaError(error) ? error.code : 'E_INTERNAL' } });
      throw error;
    }
  });

  app.get('/extensions', { onRequest: auth.requireScope(Scope.registryRead) }, async () => ({ extensions: registry.listExtensions() }));

  app.get<{ Params: { id: string } }>('/extensions/:id', { onRequest: auth.requireScope(Scope.registryRead) }, async (request) => {
    const extension = registry.getExtension(request.params.id);
    if (!extension) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Extension "${request.params.id}".`);
    const versions = registry.listVersions(extension.id).map(({ version, contentHash, size, publishedAt, signer }) => ({ version, contentHash, size, publishedAt, signer }));
    return { extension, versions };
  });

  app.get<{ Params: { id: string; version: string } }>('/extensions/:id/versions/:version', { onRequest: auth.requireScope(Scope.registryRead) }, async (request) => {
    const version = registry.getVersion(request.params.id, request.params.version);
    if (!version) throw new AlgaError('E_REGISTRY_NOT_FOUND', `${request.params.id}@${request.params.version}.`);
    return { version };
  });

  function knownHash(hash: string): string {
    if (!isContentHash(hash) || !registry.getBundle(hash) || !blobs.has(hash)) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Bundle ${hash}.`);
    return hash;
  }

  app.get<{ Params: { hash: string } }>('/bundles/:hash', { onRequest: auth.requireScope(Scope.registryRead) }, async (request) => {
    const hash = knownHash(request.params.hash);
    return { contentHash: hash, ...registry.getBundle(hash) };
  });

  app.get<{ Params: { hash: string } }>('/bundles/:hash/blob', { onRequest: auth.requireScope(Scope.registryRead) }, async (request, reply) => {
    const hash = knownHash(request.params.hash);
    reply.header('content-type', 'application/octet-stream');
    reply.header('cache-control', 'private, max-age=31536000, immutable');
    const path = blobs.localPath(hash);
    if (!path) throw new AlgaError('E_REGISTRY_NOT_FOUND', `Bundle ${hash}.`);
    return reply.send(createReadStream(path));
  });

  app.get<{ Params: { hash: string } }>('/bundles/:hash/signatures', { onRequest: auth.requireScope(Scope.registryRead) }, async (request) => {
    const hash = knownHash(request.params.hash);
    return blobs.readSignatureFile(hash);
  });
}
