import { AlgaError } from '../../../lib/errors/index.ts';
import type { SignedCheckin } from '../license/checkin-signature.ts';
import { fromJwks, type VerificationKeys } from '../license/license-token.ts';

/**
 * The appliance side of the license service protocol: fetch its JWKS, redeem an install code
 * (POST {ALGA_LICENSE_SERVICE_URL}/register) and check in. Every failure is a catalog error
 * that tells the operator what to do; nothing here changes local state.
 */

export interface RegisterResponse {
  tenant_id: string;
  edition: string;
  company_name: string;
  contact_email: string;
  first_jwt?: string;
  appliance_credential?: string;
  check_in_url?: string;
}

const TIMEOUT_MS = 15_000;
const reasonToCode = {
  invalid_claim_code: 'E_INSTALL_CODE_INVALID',
  expired_claim_code: 'E_INSTALL_CODE_EXPIRED',
  consumed_claim_code: 'E_INSTALL_CODE_CONSUMED',
} as const;

async function call(url: string, init: RequestInit): Promise<{ status: number; body: any }> {
  let response: Response;
  try {
    response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (cause) {
    throw new AlgaError('E_LICENSE_SERVICE_UNREACHABLE', `(${new URL(url).origin})`, { cause });
  }
  const text = await response.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

export function serviceUrlFrom(env: Readonly<Record<string, string | undefined>>): string {
  const url = env.ALGA_LICENSE_SERVICE_URL?.trim();
  if (!url) throw new AlgaError('E_LICENSE_SERVICE_URL_MISSING');
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('scheme');
  } catch {
    throw new AlgaError('E_HOST_CONFIG_INVALID', `ALGA_LICENSE_SERVICE_URL "${url}" is not an http(s) URL.`);
  }
  return url.replace(/\/+$/, '');
}

/** ALGA_LICENSE_PUBLIC_KEYS: a pinned JWKS with at least one Ed25519 key; the host refuses to start on a bad one. */
export function parsePinnedKeys(text: string): { jwks: unknown; keys: VerificationKeys } {
  let jwks: unknown;
  let keys: VerificationKeys;
  try {
    jwks = JSON.parse(text) as unknown;
    keys = fromJwks(jwks);
  } catch {
    throw new AlgaError('E_HOST_CONFIG_INVALID', 'ALGA_LICENSE_PUBLIC_KEYS is not a JWKS document (JSON {"keys":[…]}) of Ed25519 keys.');
  }
  if (Object.keys(keys).length === 0) throw new AlgaError('E_HOST_CONFIG_INVALID', 'ALGA_LICENSE_PUBLIC_KEYS holds no Ed25519 key with a kid.');
  return { jwks, keys };
}

/** The license signing keys: ALGA_LICENSE_PUBLIC_KEYS (a JWKS, pinned) or the service's published JWKS. */
export async function fetchLicenseKeys(serviceUrl: string, pinned?: string): Promise<{ jwks: unknown; keys: VerificationKeys }> {
  if (pinned) return parsePinnedKeys(pinned);
  const { status, body } = await call(`${serviceUrl}/.well-known/jwks.json`, { method: 'GET' });
  if (status !== 200) throw new AlgaError('E_LICENSE_SERVICE_ERROR', `GET /.well-known/jwks.json answered ${status}.`);
  try {
    return { jwks: body, keys: fromJwks(body) };
  } catch {
    throw new AlgaError('E_LICENSE_SERVICE_ERROR', 'GET /.well-known/jwks.json did not answer a JWKS document.');
  }
}

/** The service's published JWKS (to learn a rotated-in key; only endorsed keys are then trusted). */
export async function fetchPublishedJwks(jwksUrl: string): Promise<unknown> {
  const { status, body } = await call(jwksUrl, { method: 'GET' });
  if (status !== 200) throw new AlgaError('E_LICENSE_SERVICE_ERROR', `GET ${new URL(jwksUrl).pathname} answered ${status}.`);
  return body;
}

const optionalText = ['company_name', 'contact_email', 'first_jwt', 'appliance_credential', 'check_in_url'] as const;

export async function redeemInstallCode(serviceUrl: string, claimCode: string, applianceId: string, appliancePublicKey: string): Promise<RegisterResponse> {
  const { status, body } = await call(`${serviceUrl}/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ claim_code: claimCode, appliance_id: applianceId, appliance_public_key: appliancePublicKey }),
  });
  if (status === 200) {
    if (typeof body?.tenant_id !== 'string' || typeof body?.edition !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(body.tenant_id)) {
      throw new AlgaError('E_LICENSE_SERVICE_ERROR', 'The registration answer has no valid tenant id.');
    }
    const wrongType = optionalText.find((field) => body[field] !== undefined && typeof body[field] !== 'string');
    if (wrongType) throw new AlgaError('E_LICENSE_SERVICE_ERROR', `The registration answer's ${wrongType} is not text.`);
    if (body.check_in_url !== undefined && !URL.canParse(body.check_in_url)) throw new AlgaError('E_LICENSE_SERVICE_ERROR', 'The registration answer\'s check_in_url is not a URL.');
    return body as RegisterResponse;
  }
  const reason = body?.error?.reason as keyof typeof reasonToCode | undefined;
  if (reason && reason in reasonToCode) throw new AlgaError(reasonToCode[reason]);
  if (status === 429) throw new AlgaError('E_RATE_LIMITED', 'The license service is limiting registrations; try again in a minute.');
  throw new AlgaError('E_LICENSE_SERVICE_ERROR', `POST /register answered ${status}${body?.error?.code ? ` (${body.error.code})` : ''}.`);
}

const checkinRefusals = ['E_CHECKIN_SIGNATURE_INVALID', 'E_CHECKIN_STALE', 'E_CHECKIN_REPLAYED'] as const;

/** One signed check-in (license/checkin-signature.ts): the credential says who, the signature says it is fresh. */
export async function checkIn(checkInUrl: string, credential: string, signed: SignedCheckin): Promise<{ jwt: string }> {
  const { status, body } = await call(checkInUrl, { method: 'POST', headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' }, body: JSON.stringify(signed) });
  if (status === 200 && typeof body?.jwt === 'string') return { jwt: body.jwt };
  if (status === 403) throw new AlgaError('E_APPLIANCE_REVOKED');
  const refusal = checkinRefusals.find((code) => code === body?.error?.code);
  if (refusal) throw new AlgaError(refusal);
  if (status === 401) throw new AlgaError('E_APPLIANCE_AUTH_REQUIRED', 'The license service does not accept this appliance\'s credential.');
  throw new AlgaError('E_LICENSE_SERVICE_ERROR', `POST check-in answered ${status}.`);
}
