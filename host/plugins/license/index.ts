import { existsSync, createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AlgaError } from '../../../lib/errors/index.ts';
import { definePlugin, type HostContext } from '../../core/plugin.ts';
import { presignDownloadLink, verifyDownloadLink } from './download-links.ts';
import { signLicenseToken, toJwks } from './license-token.ts';
import { installCodeMail } from './mail.ts';
import { EDITIONS, isPaid, LicenseRegistry, RedeemError, type ApplianceRecord, type RegistryTenant } from './registry.ts';
import { ensureServiceToken, LICENSE_ADMIN_SCOPE } from './service-token.ts';
import { readLicenseSettings } from './settings.ts';

/**
 * The license control plane: tenant registration, install codes, appliance registration,
 * check-in, license JWTs, presigned downloads and the mail outbox.
 */

const redeemErrors = {
  invalid_claim_code: 'E_INSTALL_CODE_INVALID',
  expired_claim_code: 'E_INSTALL_CODE_EXPIRED',
  consumed_claim_code: 'E_INSTALL_CODE_CONSUMED',
} as const;

const applianceIdPattern = '^[A-Za-z0-9_-]{8,128}$';

function register(host: HostContext): void {
  const { routes, store, auth, config, secrets } = host;
  const settings = readLicenseSettings(config.env);
  const signingKey = secrets.licenseSigningKey;
  const linkKey = secrets.downloadLinkKey;
  if (!signingKey || !linkKey) throw new AlgaError('E_SECRET_MISSING', 'The license plugin needs the license signing key and download link key (profile control-plane or all).');
  const registry = new LicenseRegistry(store);
  // Runs on request, before the body is parsed or validated: a caller without the token learns nothing.
  const requireService = auth.requireScope(LICENSE_ADMIN_SCOPE);

  const minted = ensureServiceToken(auth, config.dataDir);
  if (minted.minted) host.lifecycle.onListening(() => host.lifecycle.announce(`License service token written to ${minted.path} (mode 0600); nm-store and operators send it as "Authorization: Bearer …".`));

  const baseUrlOf = (request: FastifyRequest) => settings.publicUrl ?? `${request.protocol}://${request.host}`;

  function licenseToken(tenant: RegistryTenant, appliance: ApplianceRecord): { token: string; expiresAt: string } {
    const now = Math.floor(Date.now() / 1000);
    const exp = now + settings.licenseTokenTtlSeconds;
    const token = signLicenseToken(
      { iss: settings.issuer, sub: tenant.id, aud: appliance.id, edition: appliance.edition, company: tenant.company, iat: now, exp, jti: randomBytes(12).toString('base64url') },
      signingKey!,
    );
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  const downloadLinkFor = (request: FastifyRequest, tenant: RegistryTenant) =>
    presignDownloadLink({ baseUrl: baseUrlOf(request), artifact: settings.artifact, tenantId: tenant.id, ttlSeconds: settings.downloadLinkTtlSeconds, key: linkKey! });

  /** Mints a code and link for the tenant and queues the mail; the code itself leaves only by mail. */
  function issueCode(request: FastifyRequest, tenant: RegistryTenant, reissued: boolean) {
    const { code, record } = registry.mintCode(tenant, settings.installCodeTtlMs);
    const link = downloadLinkFor(request, tenant);
    const mail = registry.queueMail(installCodeMail(tenant, code, record.expiresAt, link, reissued));
    return { link, record, mail };
  }

  routes.get('/.well-known/jwks.json', async () => toJwks([signingKey]));

  routes.post<{ Body: { company: string; contact_name: string; contact_email: string; edition: (typeof EDITIONS)[number] } }>('/register-tenant', {
    onRequest: requireService,
    schema: {
      body: {
        type: 'object', required: ['company', 'contact_name', 'contact_email', 'edition'], additionalProperties: false,
        properties: {
          company: { type: 'string', minLength: 1, maxLength: 200 },
          contact_name: { type: 'string', minLength: 1, maxLength: 200 },
          contact_email: { type: 'string', pattern: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$', maxLength: 254 },
          edition: { enum: [...EDITIONS] },
        },
      },
    },
  }, async (request, reply) => {
    const body = request.body;
    const input = { company: body.company.trim(), contactName: body.contact_name.trim(), contactEmail: body.contact_email.trim(), edition: body.edition };
    const actor = `token:${auth.principalOf(request)?.id}`;
    let registered;
    try {
      registered = store.transaction(() => {
        const { tenant, created } = registry.registerTenant(input);
        return { tenant, issued: created ? issueCode(request, tenant, false) : undefined };
      });
    } catch (error) {
      if (error instanceof AlgaError && error.code === 'E_TENANT_EMAIL_TAKEN') {
        host.audit.record({ action: 'license.tenant_registered', outcome: 'denied', actor, detail: { reason: 'email_taken' } });
      }
      throw error;
    }
    const { tenant, issued } = registered;
    if (!issued) {
      // A repeated registration: the same tenant, no new code and no second mail.
      const link = downloadLinkFor(request, tenant);
      return reply.status(200).send({
        tenant_id: tenant.id,
        edition: tenant.edition,
        download_url: link.url,
        download_expires_at: link.expiresAt,
        install_code_expires_at: registry.unclaimedCodeExpiry(tenant.id) ?? null,
        already_registered: true,
      });
    }
    host.audit.record({ action: 'license.tenant_registered', actor, tenantId: tenant.id, detail: { edition: tenant.edition } });
    return reply.status(201).send({
      tenant_id: tenant.id,
      edition: tenant.edition,
      download_url: issued.link.url,
      download_expires_at: issued.link.expiresAt,
      install_code_expires_at: issued.record.expiresAt,
      mail_id: issued.mail.id,
      already_registered: false,
    });
  });

  routes.post<{ Body: { claim_code: string; appliance_id: string } }>('/register', {
    config: { rateLimit: { max: settings.registerPerMinute, timeWindow: '1 minute', errorResponseBuilder: () => new AlgaError('E_RATE_LIMITED') } },
    schema: {
      body: {
        type: 'object', required: ['claim_code', 'appliance_id'], additionalProperties: false,
        properties: { claim_code: { type: 'string', maxLength: 200 }, appliance_id: { type: 'string', pattern: applianceIdPattern } },
      },
    },
  }, async (request, reply) => {
    let redeemed;
    try {
      redeemed = registry.redeem(request.body.claim_code, request.body.appliance_id);
    } catch (error) {
      if (!(error instanceof RedeemError)) throw error;
      host.audit.record({ action: 'license.register', outcome: 'denied', actor: 'anonymous', detail: { reason: error.reason, applianceId: request.body.appliance_id } });
      const alga = new AlgaError(redeemErrors[error.reason]);
      return reply.status(alga.status).send({ error: { code: alga.code, reason: error.reason, message: alga.message }, request_id: request.id });
    }
    const { tenant, code, credential } = redeemed;
    const appliance = registry.getAppliance(request.body.appliance_id)!;
    host.audit.record({ action: 'license.register', actor: `appliance:${appliance.id}`, tenantId: tenant.id, detail: { edition: code.edition } });
    return reply.status(200).send({
      tenant_id: tenant.id,
      edition: code.edition,
      company_name: tenant.company,
      contact_email: tenant.contactEmail,
      ...(isPaid(code.edition)
        ? { first_jwt: licenseToken(tenant, appliance).token, appliance_credential: credential, check_in_url: `${baseUrlOf(request)}/checkin` }
        : {}),
    });
  });

  routes.post<{ Body: { contact_email?: string; tenant_id?: string } }>('/install-codes/reissue', {
    onRequest: requireService,
    schema: {
      body: {
        type: 'object', additionalProperties: false, minProperties: 1,
        properties: { contact_email: { type: 'string', maxLength: 254 }, tenant_id: { type: 'string', maxLength: 128 } },
      },
    },
  }, async (request) => {
    const tenant = registry.findTenant({ tenantId: request.body.tenant_id, contactEmail: request.body.contact_email });
    if (!tenant) throw new AlgaError('E_TENANT_NOT_FOUND', 'Give the tenant_id or the contact_email used at registration.');
    const { revoked, issued } = store.transaction(() => ({ revoked: registry.revokeUnclaimedCodes(tenant.id), issued: issueCode(request, tenant, true) }));
    host.audit.record({ action: 'license.code_reissued', actor: `token:${auth.principalOf(request)?.id}`, tenantId: tenant.id, detail: { revoked } });
    return {
      tenant_id: tenant.id,
      revoked_codes: revoked,
      download_url: issued.link.url,
      download_expires_at: issued.link.expiresAt,
      install_code_expires_at: issued.record.expiresAt,
      mail_id: issued.mail.id,
    };
  });

  // The appliance's credential is checked on the headers, before any body is read.
  const checkinCallers = new WeakMap<object, NonNullable<ReturnType<typeof registry.applianceByCredentialToken>>>();
  routes.post('/checkin', {
    onRequest: async (request) => {
      const header = request.headers.authorization;
      const credential = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
      const appliance = registry.applianceByCredentialToken(credential);
      if (!appliance) throw new AlgaError('E_APPLIANCE_AUTH_REQUIRED');
      checkinCallers.set(request, appliance);
    },
  }, async (request) => {
    const appliance = checkinCallers.get(request);
    if (!appliance) throw new AlgaError('E_APPLIANCE_AUTH_REQUIRED');
    if (appliance.revokedAt) {
      host.audit.record({ action: 'license.checkin', outcome: 'denied', actor: `appliance:${appliance.id}`, tenantId: appliance.tenantId, detail: { reason: 'revoked' } });
      throw new AlgaError('E_APPLIANCE_REVOKED');
    }
    const tenant = registry.getTenant(appliance.tenantId);
    if (!tenant) throw new AlgaError('E_TENANT_NOT_FOUND');
    registry.markCheckin(appliance.id);
    const { token, expiresAt } = licenseToken(tenant, appliance);
    return { jwt: token, expires_at: expiresAt, edition: appliance.edition, tenant_id: tenant.id };
  });

  routes.post<{ Params: { id: string } }>('/appliances/:id/revoke', { onRequest: requireService }, async (request) => {
    const appliance = registry.revokeAppliance(request.params.id);
    host.audit.record({ action: 'license.appliance_revoked', actor: `token:${auth.principalOf(request)?.id}`, tenantId: appliance.tenantId, target: `appliance:${appliance.id}` });
    return { appliance: { id: appliance.id, tenant_id: appliance.tenantId, revoked_at: appliance.revokedAt } };
  });

  routes.get<{ Querystring: { tenant_id?: string } }>('/appliances', { onRequest: requireService }, async (request) => ({
    appliances: registry.listAppliances(request.query.tenant_id).map(({ credentialHash: _omit, ...rest }) => rest),
  }));

  routes.get<{ Querystring: { to?: string; limit?: string } }>('/outbox', { onRequest: requireService }, async (request) => ({
    messages: registry.listOutbox({ to: request.query.to, limit: request.query.limit ? Number(request.query.limit) : undefined }),
  }));

  routes.get<{ Params: { artifact: string }; Querystring: { tenant?: string; expires?: string; sig?: string } }>('/download/:artifact', async (request, reply) => {
    const { artifact } = request.params;
    verifyDownloadLink({ artifact, tenantId: request.query.tenant, expires: request.query.expires, sig: request.query.sig, key: linkKey });
    const file = join(config.dataDir, 'downloads', settings.artifact);
    if (artifact !== settings.artifact || !existsSync(file)) throw new AlgaError('E_NOT_FOUND', `The appliance image is not published on this control plane (${settings.artifact}).`);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-length', statSync(file).size)
      .header('content-disposition', `attachment; filename="${settings.artifact}"`)
      .header('cache-control', 'no-store')
      .send(createReadStream(file));
  });
}

export default definePlugin({ name: 'license', version: '1.0.0', requires: [], register });
