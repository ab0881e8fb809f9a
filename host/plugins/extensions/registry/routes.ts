import { createReadStream } from 'node:fs';
import type { RebuildChecks } from './rebuild-checks.ts';
import type { FastifyInstance } from 'fastify';
import { AlgaError, isAlgaError } from '../../../../lib/errors/index.ts';
import { isContentHash, type BundleBlobs } from '../../../../lib/bundle/index.ts';
import type { TrustBundle } from '../../../../lib/signing/index.ts';
import { actorOf, Scope, type HostAuth } from '../../../core/auth/index.ts';
import type { AuditLog } from '../../../core/audit.ts';
import type { HostEvents } from '../../../core/events.ts';
import type { BundleVerifier } from '../verify/bundle-verifier.ts';
import { publishVerifiedBundle } from './publish.ts';
import type { RegistryStore } from './registry-store.ts';
import { SIGNATURE_HEADER } from './upload.ts';
import { uploadBodyParser } from './upload-body.ts';

export interface RegistryRouteOptions {
  registry: RegistryStore;
  rebuildChecks: RebuildChecks;
  /** Bundle bytes and signature files by hash: the folder, or a fleet's shared store. */
  blobs: BundleBlobs;
  trust: () => TrustBundle;
  auth: HostAuth;
  audit: AuditLog;
  maxBundleBytes: number;
  /** Told `registry.published {extensionId, version, contentHash}` after each publish. */
  events?: HostEvents;
  verifier: BundleVerifier;
}

/** The largest JSON publish body: the bundle in base64 plus room for the signature file. */
export function jsonUploadLimit(maxBundleBytes: number): number {
  return Math.ceil(maxBundleBytes / 3) * 4 + 1024 * 1024;
}

/** Registry v2 under /api/registry: publish, list, detail, and blob + signatures for runners. */
export async function registryRoutes(app: FastifyInstance, options: RegistryRouteOptions): Promise<void> {
  const { registry, blobs, auth, audit, verifier } = options;
  const octetLimit = options.maxBundleBytes;
  const jsonLimit = jsonUploadLimit(options.maxBundleBytes);
  // Both forms arrive as bytes and are parsed on the verification thread, not here.
  app.addContentTypeParser('application/octet-stream', uploadBodyParser(octetLimit));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', uploadBodyParser(jsonLimit));

  const tooLarge = (detail: string) => new AlgaError('E_REGISTRY_BUNDLE_TOO_LARGE', detail);

  app.post('/bundles', {
    onRequest: auth.requireScope(Scope.registryPublish),
    // A declared length above the limit is refused before any of the body is read (or asked for, with Expect: 100-continue).
    preParsing: async (request, _reply, payload) => {
      const declared = Number(request.headers['content-length']);
      const limit = String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json') ? jsonLimit : octetLimit;
      if (Number.isFinite(declared) && declared > limit) throw tooLarge(`The body declares ${declared} bytes; the limit is ${limit}.`);
      return payload;
    },
    // … and one without a length, or with a false one, once more than the limit has arrived (uploadBodyParser).
  }, async (request, reply) => {
    const principal = auth.principalOf(request)!;
    try {
      if (!Buffer.isBuffer(request.body)) throw new AlgaError('E_REGISTRY_UPLOAD_INVALID', `Send application/octet-stream with the ${SIGNATURE_HEADER} header, or JSON {bundle_b64, signatures}.`);
      const header = request.headers[SIGNATURE_HEADER];
      const upload = await verifier.verifyUpload({
        body: request.body,
        form: String(request.headers['content-type'] ?? '').toLowerCase().startsWith('application/json') ? 'json' : 'raw',
        signatureHeader: typeof header === 'string' ? header : undefined,
        trust: options.trust(),
        maxBundleBytes: options.maxBundleBytes,
      });
      const { created, version } = await publishVerifiedBundle({ registry, blobs, upload, principal });
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
    const versions = registry.listVersions(extension.id).map(({ version, contentHash, size, publishedAt, signer, reproducibility }) => {
      const rebuildCheck = options.rebuildChecks.get(contentHash);
      return { version, contentHash, size, publishedAt, signer, reproducibility: reproducibility ?? 'none', ...(rebuildCheck ? { rebuildCheck } : {}) };
    });
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
