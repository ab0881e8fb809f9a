import { existsSync, createReadStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { Counter } from 'prom-client';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { InfraSecrets } from '../../core/infra-secrets.ts';
import { definePlugin, type HostContext } from '../../core/plugin.ts';
import { CHECKIN_MAX_SKEW_SECONDS, checkinSignatureValid, publicKeyFromText, type SignedCheckin } from './checkin-signature.ts';
import { presignDownloadLink, verifyDownloadLink, type LinkKey } from './download-links.ts';
import { signLicenseToken, toJwks } from './license-token.ts';
import { installCodeMail, installCodeSubject } from './mail.ts';
import { MailDelivery } from './mail-delivery.ts';
import { publicMail } from './mail-queue.ts';
import { readMailSettings } from './mail-settings.ts';
import { licenseMigrations } from './migrations.ts';
import { EDITIONS, isPaid, LicenseRegistry, RedeemError, type ApplianceRecord, type RegistryTenant } from './registry.ts';
import { ensureServiceToken, LICENSE_ADMIN_SCOPE } from './service-token.ts';
import { readLicenseSettings } from './settings.ts';
import { smtpSender } from './smtp-sender.ts';

/**
 * The license control plane: tenant registration, install codes (mailed over SMTP, or released
 * from the outbox on an air-gapped control plane; never stored), appliance registration, signed
 * check-ins, license JWTs, presigned downloads. Keys are read from the live infra secrets at
 * each use, so `alga-host rotate-key` takes effect without a restart.
 */

const redeemErrors = {
  invalid_claim_code: 'E_INSTALL_CODE_INVALID',
  expired_claim_code: 'E_INSTALL_CODE_EXPIRED',
  consumed_claim_code: 'E_INSTALL_CODE_CONSUMED',
} as const;

const applianceIdPattern = '^[A-Za-z0-9_-]{8,128}$';
const publicKeyPattern = '^[A-Za-z0-9_-]{43}$';

function controlPlaneKeys(secrets: InfraSecrets) {
  const signing = secrets.licenseSigningKeys;
  const links = secrets.downloadLinkKeys;
  if (!signing || !links) throw new AlgaError('E_SECRET_MISSING', 'The license plugin needs the license signing key and download link key (profile control-plane or all).');
  return { signing, links };
}

function register(host: HostContext): void {
  const { routes, store, auth, config, secrets } = host;
  const settings = readLicenseSettings(config.env);
  const mailSettings = readMailSettings(config.env);
  controlPlaneKeys(secrets);
  store.migrate('license', licenseMigrations((line) => host.lifecycle.onListening(() => host.lifecycle.announce(line))));
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
      secrets.licenseSigningKey!,
    );
    return { token, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** The keys the JWKS serves: the active one, and rotated-out ones until the last token they signed has expired. */
  function publishedSigningKeys() {
    const now = Date.now();
    return controlPlaneKeys(secrets).signing.entries
      .filter((entry) => !entry.inactiveSince || Date.parse(entry.inactiveSince) + settings.licenseTokenTtlSeconds * 1000 > now)
      .map(({ key, endorsement }) => ({ keyId: key.keyId, publicKey: key.publicKey, endorsement }));
  }

  const linkKeys = (): LinkKey[] =>
    controlPlaneKeys(secrets).links.entries.map(({ key, inactiveSince }) => ({ key, ...(inactiveSince ? { signedUntil: Date.parse(inactiveSince) } : {}) }));

  const downloadLinkFor = (baseUrl: string, tenant: RegistryTenant) =>
    presignDownloadLink({ baseUrl, artifact: settings.artifact, tenantId: tenant.id, ttlSeconds: settings.downloadLinkTtlSeconds, key: secrets.downloadLinkKey! });

  const attempts = new Counter({ name: 'alga_license_mail_attempts_total', help: 'Install-code mail attempts by result (sent, retry, failed = dead letter, interrupted).', labelNames: ['result'], registers: [host.metrics] });
  const delivery = new MailDelivery({
    store,
    registry,
    settings: mailSettings,
    sender: mailSettings.smtp ? smtpSender(mailSettings.smtp) : undefined,
    codeTtlMs: settings.installCodeTtlMs,
    compose: ({ job, tenant, code, codeExpiresAt }) =>
      installCodeMail({ tenant, code, codeExpiresAt, link: downloadLinkFor(job.baseUrl, tenant), reissue: job.reissue, replacesEarlier: job.attempts > 1 }),
    log: host.log,
    onAttempt: (result) => attempts.inc({ result }),
  });
  host.lifecycle.onListening(() => {
    delivery.start();
    if (!mailSettings.smtp) host.lifecycle.announce('No SMTP server is configured (ALGA_SMTP_HOST): install-code mail waits in the outbox (GET /outbox; POST /outbox/:id/release hands one over, code included, once).');
  });
  host.lifecycle.onClose(() => delivery.stop());

  /** A new install-code mail for the tenant (revoking its unclaimed codes), in the caller's transaction. */
  const issueMail = (request: FastifyRequest, tenant: RegistryTenant, reissue: boolean) =>
    delivery.enqueue(tenant, { reissue, baseUrl: baseUrlOf(request), subject: installCodeSubject(tenant, reissue) });

  routes.get('/.well-known/jwks.json', async () => toJwks(publishedSigningKeys()));

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
        return { tenant, issued: created ? issueMail(request, tenant, false) : undefined };
      });
    } catch (error) {
      if (error instanceof AlgaError && error.code === 'E_TENANT_EMAIL_TAKEN') {
        host.audit.record({ action: 'license.tenant_registered', outcome: 'denied', actor, detail: { reason: 'email_taken' } });
      }
      throw error;
    }
    const { tenant, issued } = registered;
    const link = downloadLinkFor(baseUrlOf(request), tenant);
    if (!issued) {
      // A repeated registration: the same tenant, no new code and no second mail.
      return reply.status(200).send({
        tenant_id: tenant.id,
        edition: tenant.edition,
        download_url: link.url,
        download_expires_at: link.expiresAt,
        install_code_expires_at: registry.unclaimedCodeExpiry(tenant.id) ?? null,
        already_registered: true,
      });
    }
    issued.dispatch();
    host.audit.record({ action: 'license.tenant_registered', actor, tenantId: tenant.id, detail: { edition: tenant.edition, mail: issued.job.id } });
    return reply.status(201).send({
      tenant_id: tenant.id,
      edition: tenant.edition,
      download_url: link.url,
      download_expires_at: link.expiresAt,
      install_code_expires_at: issued.job.codeExpiresAt ?? null,
      mail_id: issued.job.id,
      mail_status: issued.job.status,
      already_registered: false,
    });
  });

  routes.post<{ Body: { claim_code: string; appliance_id: string; appliance_public_key?: string } }>('/register', {
    config: { rateLimit: { max: settings.registerPerMinute, timeWindow: '1 minute', errorResponseBuilder: () => new AlgaError('E_RATE_LIMITED') } },
    schema: {
      body: {
        type: 'object', required: ['claim_code', 'appliance_id'], additionalProperties: false,
        properties: { claim_code: { type: 'string', maxLength: 200 }, appliance_id: { type: 'string', pattern: applianceIdPattern }, appliance_public_key: { type: 'string', pattern: publicKeyPattern } },
      },
    },
  }, async (request, reply) => {
    const { claim_code: claimCode, appliance_id: applianceId, appliance_public_key: publicKey } = request.body;
    if (publicKey !== undefined && !publicKeyFromText(publicKey)) throw new AlgaError('E_LICENSE_REGISTER_INVALID', 'appliance_public_key is not an Ed25519 public key.');
    let redeemed;
    try {
      redeemed = registry.redeem(claimCode, applianceId, publicKey);
    } catch (error) {
      if (!(error instanceof RedeemError)) throw error;
      host.audit.record({ action: 'license.register', outcome: 'denied', actor: 'anonymous', detail: { reason: error.reason, applianceId } });
      const alga = new AlgaError(redeemErrors[error.reason]);
      return reply.status(alga.status).send({ error: { code: alga.code, reason: error.reason, message: alga.message }, request_id: request.id });
    }
    const { tenant, code, credential } = redeemed;
    const appliance = registry.getAppliance(applianceId)!;
    host.audit.record({ action: 'license.register', actor: `appliance:${appliance.id}`, tenantId: tenant.id, detail: { edition: code.edition, signedCheckins: Boolean(publicKey) } });
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
    const issued = issueMail(request, tenant, true);
    issued.dispatch();
    host.audit.record({ action: 'license.code_reissued', actor: `token:${auth.principalOf(request)?.id}`, tenantId: tenant.id, detail: { revoked: issued.revokedCodes, mail: issued.job.id } });
    const link = downloadLinkFor(baseUrlOf(request), tenant);
    return {
      tenant_id: tenant.id,
      revoked_codes: issued.revokedCodes,
      download_url: link.url,
      download_expires_at: link.expiresAt,
      install_code_expires_at: issued.job.codeExpiresAt ?? null,
      mail_id: issued.job.id,
      mail_status: issued.job.status,
    };
  });

  // The appliance's credential is checked on the headers, before any body is read.
  const checkinCallers = new WeakMap<object, NonNullable<ReturnType<typeof registry.applianceByCredentialToken>>>();
  routes.post<{ Body: Partial<SignedCheckin> | undefined }>('/checkin', {
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
    const deny = (reason: string, code: 'E_APPLIANCE_REVOKED' | 'E_CHECKIN_SIGNATURE_INVALID' | 'E_CHECKIN_STALE' | 'E_CHECKIN_REPLAYED') => {
      host.audit.record({ action: 'license.checkin', outcome: 'denied', actor: `appliance:${appliance.id}`, tenantId: appliance.tenantId, detail: { reason } });
      return new AlgaError(code);
    };
    if (appliance.revokedAt) throw deny('revoked', 'E_APPLIANCE_REVOKED');
    const tenant = registry.getTenant(appliance.tenantId);
    if (!tenant) throw new AlgaError('E_TENANT_NOT_FOUND');
    const body = (request.body && typeof request.body === 'object' ? request.body : {}) as Partial<SignedCheckin>;
    const signed = typeof body.signature === 'string' && typeof body.nonce === 'string' && /^[A-Za-z0-9_-]{22,64}$/.test(body.nonce) && Number.isInteger(body.issued_at);
    const enrollKey = !appliance.publicKey && typeof body.public_key === 'string' ? body.public_key : undefined;
    const keyText = appliance.publicKey ?? enrollKey;
    if (keyText) {
      const publicKey = publicKeyFromText(keyText);
      if (!signed || !publicKey || body.appliance_id !== appliance.id || !checkinSignatureValid(body as SignedCheckin, publicKey)) throw deny('bad_signature', 'E_CHECKIN_SIGNATURE_INVALID');
      if (Math.abs(Date.now() / 1000 - body.issued_at!) > CHECKIN_MAX_SKEW_SECONDS) throw deny('stale', 'E_CHECKIN_STALE');
      try {
        registry.acceptCheckin(appliance.id, body.nonce!, (body.issued_at! + CHECKIN_MAX_SKEW_SECONDS + 60) * 1000, enrollKey);
      } catch (error) {
        if (error instanceof AlgaError && error.code === 'E_CHECKIN_REPLAYED') throw deny('replayed', 'E_CHECKIN_REPLAYED');
        throw error;
      }
    } else {
      // Registered before check-ins were signed, and not yet enrolled: its next check-in enrolls a key.
      registry.markCheckin(appliance.id);
    }
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

  // Install-code mail as the operator sees it: states, attempts, errors, dead letters — never a code.
  routes.get<{ Querystring: { to?: string; status?: string; limit?: string } }>('/outbox', { onRequest: requireService }, async (request) => ({
    transport: delivery.transport,
    messages: delivery.queue.list({ to: request.query.to, status: request.query.status, limit: request.query.limit ? Number(request.query.limit) : undefined }).map(publicMail),
  }));

  // Air-gapped: the mail with a freshly minted code, in this answer only.
  routes.post<{ Params: { id: string } }>('/outbox/:id/release', { onRequest: requireService }, async (request, reply) => {
    const { job, mail } = delivery.release(request.params.id);
    host.audit.record({ action: 'license.mail_released', actor: `token:${auth.principalOf(request)?.id}`, tenantId: job.tenantId, target: `mail:${job.id}` });
    return reply.header('cache-control', 'no-store').send({ message: { ...publicMail(job), text: mail.text } });
  });

  routes.post<{ Params: { id: string } }>('/outbox/:id/retry', { onRequest: requireService }, async (request) => {
    const job = delivery.retry(request.params.id);
    host.audit.record({ action: 'license.mail_retried', actor: `token:${auth.principalOf(request)?.id}`, tenantId: job.tenantId, target: `mail:${job.id}` });
    return { message: publicMail(job) };
  });

  routes.get<{ Params: { artifact: string }; Querystring: { tenant?: string; expires?: string; sig?: string } }>('/download/:artifact', async (request, reply) => {
    const { artifact } = request.params;
    verifyDownloadLink({ artifact, tenantId: request.query.tenant, expires: request.query.expires, sig: request.query.sig, keys: linkKeys(), maxTtlSeconds: settings.downloadLinkTtlSeconds });
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
