import { generateKeyPairSync } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';
import type { InfraSecrets } from '../../core/infra-secrets.ts';
import { encryptValue } from '../../core/secrets/encryption.ts';
import type { HostStore } from '../../core/store.ts';
import { publicKeyText } from '../license/checkin-signature.ts';
import { verifyLicenseToken } from '../license/license-token.ts';
import type { ClaimStep } from '../setup/claim.ts';
import { fetchLicenseKeys, redeemInstallCode, serviceUrlFrom } from './license-service.ts';
import { applianceId, writeLicenseState, type LicenseState } from './license-state.ts';

/**
 * The claim step that redeems an install code: the license service's keys are fetched first (so
 * an unreachable service fails before the code is spent), then the code is redeemed for this
 * appliance id, the first license JWT verified, and — inside the claim transaction — the tenant
 * adopted and the license state seeded. With a code given there is no fallback to a tenant of
 * the host's own making.
 */
export function installCodeStep(options: { store: HostStore; secrets: Pick<InfraSecrets, 'encryptionKeys'>; env: Readonly<Record<string, string | undefined>> }): ClaimStep {
  return {
    name: 'install-code',
    handlesInstallCode: true,
    async prepare(input, setupState) {
      if (!input.installCode) return undefined;
      if (setupState.tenantId) throw new AlgaError('E_SETUP_BAD_REQUEST', `This host already belongs to tenant ${setupState.tenantId}; leave the install code empty.`);
      const serviceUrl = serviceUrlFrom(options.env);
      const { jwks, keys } = await fetchLicenseKeys(serviceUrl, options.env.ALGA_LICENSE_PUBLIC_KEYS || undefined);
      const id = applianceId(options.store);
      // The key that will sign this appliance's check-ins; only its public half leaves the host.
      const checkinKey = generateKeyPairSync('ed25519');
      const registered = await redeemInstallCode(serviceUrl, input.installCode, id, publicKeyText(checkinKey.publicKey));
      let tokenExpiresAt: string | undefined;
      if (registered.first_jwt !== undefined || registered.edition !== 'essentials') {
        if (!registered.first_jwt || !registered.appliance_credential || !registered.check_in_url) {
          throw new AlgaError('E_LICENSE_SERVICE_ERROR', `A ${registered.edition} registration must carry a license token, a credential and a check-in URL.`);
        }
        const claims = verifyLicenseToken(registered.first_jwt, keys, { audience: id });
        if (claims.sub !== registered.tenant_id) throw new AlgaError('E_LICENSE_TOKEN_INVALID', 'The license token names another tenant.');
        tokenExpiresAt = new Date(claims.exp * 1000).toISOString();
      }
      const now = new Date().toISOString();
      const state: LicenseState = {
        tenantId: registered.tenant_id,
        edition: registered.edition,
        companyName: registered.company_name,
        contactEmail: registered.contact_email,
        ...(registered.first_jwt ? { token: registered.first_jwt, tokenExpiresAt } : {}),
        ...(registered.appliance_credential
          ? {
              credential: encryptValue(registered.appliance_credential, options.secrets.encryptionKeys),
              signingKey: encryptValue(checkinKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), options.secrets.encryptionKeys),
              checkInUrl: registered.check_in_url,
              jwks,
              jwksUrl: `${serviceUrl}/.well-known/jwks.json`,
            }
          : {}),
        registeredAt: now,
        ...(registered.first_jwt ? { lastCheckinAt: now } : {}),
        checkinFailures: 0,
      };
      return {
        tenant: { id: registered.tenant_id, name: registered.company_name || registered.tenant_id },
        commit: () => writeLicenseState(options.store, state),
      };
    },
  };
}
