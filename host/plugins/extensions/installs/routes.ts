import type { FastifyInstance } from 'fastify';
import { AlgaError } from '../../../../lib/errors/index.ts';
import { actorOf, Scope, type HostAuth } from '../../../core/auth/index.ts';
import { dateParam, wholeNumberParam } from '../../../core/query-params.ts';
import { strictValidatorCompiler } from '../../../core/strict-validation.ts';
import type { AuditLog } from '../../../core/audit.ts';
import type { HostEvents } from '../../../core/events.ts';
import type { ExecutionLog } from '../gateway/execution-log.ts';
import { tenantOf } from '../tenant-of.ts';
import { publicInstall, type InstallStore } from './install-store.ts';
import type { InstallInput, InstallService } from './installs.ts';

export interface InstallRouteOptions {
  installs: InstallStore;
  service: InstallService;
  executions: ExecutionLog;
  auth: HostAuth;
  audit: AuditLog;
  events: HostEvents;
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
    enabled: { type: 'boolean' },
  },
} as const;

/** Per-tenant installs under /api/installs; secrets go in, never out. */
export async function installRoutes(app: FastifyInstance, options: InstallRouteOptions): Promise<void> {
  const { installs, service, executions, auth, audit, events } = options;
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
    const install = await service.create(tenantId, extensionId, input);
    audit.record({ action: 'install.created', actor: actorOf(auth.principalOf(request)), tenantId, target: `${extensionId}@${install.version}`, detail: { grants: install.grants, egress: install.egress, secretNames: install.secretNames } });
    events.emit('install.saved', { tenantId, extensionId, version: install.version });
    return reply.status(201).send({ install: publicInstall(install) });
  });

  app.patch<{ Params: { extensionId: string }; Body: InstallInput }>('/:extensionId', { onRequest: write, schema: { body: installBody } }, async (request) => {
    const tenantId = tenantOf(request, auth);
    const { extensionId } = request.params;
    const { extensionId: _ignored, ...input } = request.body as InstallInput & { extensionId?: string };
    const before = installs.get(tenantId, extensionId);
    const install = await service.update(tenantId, extensionId, input);
    audit.record({
      action: 'install.updated', actor: actorOf(auth.principalOf(request)), tenantId, target: `${extensionId}@${install.version}`,
      detail: { fromVersion: before?.version, grants: install.grants, egress: install.egress, secretsReplaced: input.secrets !== undefined, secretNames: install.secretNames },
    });
    events.emit('install.saved', { tenantId, extensionId, version: install.version });
    return { install: publicInstall(install) };
  });

  app.delete<{ Params: { extensionId: string } }>('/:extensionId', { onRequest: write }, async (request) => {
    const tenantId = tenantOf(request, auth);
    const removed = service.remove(tenantId, request.params.extensionId);
    audit.record({ action: 'install.removed', actor: actorOf(auth.principalOf(request)), tenantId, target: `${removed.extensionId}@${removed.version}` });
    events.emit('install.removed', { tenantId, extensionId: removed.extensionId });
    return { uninstalled: true, extensionId: removed.extensionId };
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
