import type { FastifyInstance } from 'fastify';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { Scope, type HostAuth } from '../../../core/auth/index.ts';
import { dateParam, wholeNumberParam } from '../../../core/query-params.ts';
import { strictValidatorCompiler } from '../../../core/strict-validation.ts';
import type { ExecutionLog } from '../gateway/execution-log.ts';
import { tenantOf } from '../tenant-of.ts';
import type { InstallActions } from './install-actions.ts';
import { publicInstall, type InstallStore } from './install-store.ts';
import type { InstallInput, InstallService } from './installs.ts';

export interface InstallRouteOptions {
  installs: InstallStore;
  service: InstallService;
  actions: InstallActions;
  executions: ExecutionLog;
  auth: HostAuth;
}

const installBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    extensionId: { type: 'string', minLength: 1, maxLength: 128 },
    version: { type: 'string', maxLength: 64 },
    config: { type: 'object' },
    grants: { type: 'array', items: { type: 'string' } },
    egress: { type: 'array', items: { type: 'string' } },
    limits: { type: 'object' },
    secrets: { type: 'object' },
    secretUpdates: { type: 'object' },
    enabled: { type: 'boolean' },
  },
} as const;

/** Per-tenant installs under /api/installs; secrets go in, never out. */
export async function installRoutes(app: FastifyInstance, options: InstallRouteOptions): Promise<void> {
  const { installs, service, actions, executions, auth } = options;
  app.setValidatorCompiler(strictValidatorCompiler);
  const read = auth.requireScope(Scope.installsRead);
  const write = auth.requireScope(Scope.installsWrite);

  app.get('/', { onRequest: read }, async (request) => ({ installs: installs.listForTenant(tenantOf(request, auth)).map(publicInstall) }));

  app.get<{ Params: { extensionId: string } }>('/:extensionId', { onRequest: read }, async (request) => {
    const install = installs.get(tenantOf(request, auth), request.params.extensionId);
    if (!install) throw new AlgaError('E_INSTALL_NOT_FOUND', `${request.params.extensionId}.`);
    return { install: publicInstall(install) };
  });

  app.post<{ Body: InstallInput & { extensionId: string } }>('/', { onRequest: write, schema: { body: { ...installBody, required: ['extensionId'] } } }, async (request, reply) => {
    const tenantId = tenantOf(request, auth);
    const { extensionId, ...input } = request.body;
    const install = await actions.create(auth.principalOf(request), tenantId, extensionId, input);
    return reply.status(201).send({ install: publicInstall(install) });
  });

  app.patch<{ Params: { extensionId: string }; Body: InstallInput }>('/:extensionId', { onRequest: write, schema: { body: installBody } }, async (request) => {
    const tenantId = tenantOf(request, auth);
    const { extensionId: _ignored, ...input } = request.body as InstallInput & { extensionId?: string };
    return { install: publicInstall(await actions.update(auth.principalOf(request), tenantId, request.params.extensionId, input)) };
  });

  // Without ?purge=storage the extension's storage is kept: installing it again finds its data.
  app.delete<{ Params: { extensionId: string }; Querystring: { purge?: string } }>('/:extensionId', { onRequest: write }, async (request) => {
    const principal = auth.principalOf(request);
    const tenantId = tenantOf(request, auth);
    if (!purgeParam(request.query.purge)) {
      const removed = actions.remove(principal, tenantId, request.params.extensionId);
      return { uninstalled: true, extensionId: removed.extensionId, storage: 'kept' };
    }
    const { removed, purgedKeys } = await actions.removeAndPurgeStorage(principal, tenantId, request.params.extensionId);
    return { uninstalled: true, extensionId: removed.extensionId, storage: 'purged', purgedKeys };
  });

  // The tenant's storage of an extension, installed or not (e.g. after an uninstall that kept it).
  app.delete<{ Params: { extensionId: string } }>('/:extensionId/storage', { onRequest: write }, async (request) => {
    const purgedKeys = await actions.purgeStorage(auth.principalOf(request), tenantOf(request, auth), request.params.extensionId);
    return { extensionId: request.params.extensionId, storage: 'purged', purgedKeys };
  });

  // What installing (or moving the install to) a version asks for, before anything is changed.
  app.get<{ Params: { extensionId: string }; Querystring: { version?: string } }>('/:extensionId/consent', { onRequest: read }, async (request) => {
    const tenantId = tenantOf(request, auth);
    const version = typeof request.query.version === 'string' && request.query.version !== '' ? request.query.version : undefined;
    const { version: target, current, plan } = service.consentFor(tenantId, request.params.extensionId, version);
    return {
      extensionId: target.extensionId,
      version: target.version,
      installed: current ? { version: current.version, grants: current.grants, egress: current.egress } : null,
      ...plan,
    };
  });

  app.get<{ Params: { extensionId: string }; Querystring: { limit?: string; before?: string } }>('/:extensionId/executions', { onRequest: read }, async (request) => {
    const tenantId = tenantOf(request, auth);
    const limit = wholeNumberParam(request.query.limit, 'limit', { min: 1, max: 1000 });
    return { executions: executions.list(tenantId, request.params.extensionId, { limit, before: dateParam(request.query.before, 'before') }) };
  });

  app.get<{ Params: { extensionId: string }; Querystring: { days?: string } }>('/:extensionId/usage', { onRequest: read }, async (request) => {
    const tenantId = tenantOf(request, auth);
    return { usage: executions.usage(tenantId, request.params.extensionId, wholeNumberParam(request.query.days, 'days', { min: 1, max: 366 }) ?? 30) };
  });
}

/** `?purge=storage` deletes the extension's storage with the install; nothing else is accepted. */
function purgeParam(value: unknown): boolean {
  if (value === undefined || value === '') return false;
  if (value === 'storage') return true;
  throw new AlgaError('E_REQUEST_INVALID', 'purge must be "storage" (delete the extension\'s storage with the install) or left out (keep it).');
}
