import { createPublicKey, sign as signBytes, verify as verifyBytes, type KeyObject } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * License tokens: compact JWS (JWT) signed with Ed25519, `alg: "EdDSA"` and a `kid` naming the
 * control plane's signing key. Only EdDSA is accepted; `none` and every other alg are refused
 * before any key is looked at.
 */

export interface LicenseClaims {
  iss: string;
  sub: string; // tenant id
  aud?: string; // appliance id
  edition: string;
  iat: number;
  exp: number;
  [claim: string]: unknown;
}

export interface SigningKey {
  keyId: string;
  privateKey: KeyObject;
}

/** Verification keys by kid. */
export type VerificationKeys = Record<string, KeyObject>;

function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** A compact JWS (EdDSA) of a JSON payload; `typ` names what it is. */
export function signCompactJws(payload: Record<string, unknown>, key: SigningKey, typ: string): string {
  const signingInput = `${b64json({ alg: 'EdDSA', typ, kid: key.keyId })}.${b64json(payload)}`;
  const signature = signBytes(null, Buffer.from(signingInput), key.privateKey);
  return `${signingInput}.${signature.toString('base64url')}`;
}

export function signLicenseToken(claims: LicenseClaims, key: SigningKey): string {
  return signCompactJws(claims, key, 'JWT');
}

function invalid(reason: string): AlgaError {
  return new AlgaError('E_LICENSE_TOKEN_INVALID', reason);
}

function decodeSegment(segment: string, what: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8')) as unknown;
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw invalid(`The token ${what} is not a JSON object.`);
}

/** Checks a compact JWS's form, alg (EdDSA only), kid and signature; returns its header and payload. */
export function verifyCompactJws(token: string, keys: VerificationKeys): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const parts = typeof token === 'string' ? token.split('.') : [];
  if (parts.length !== 3 || parts.some((part) => !/^[A-Za-z0-9_-]*$/.test(part))) throw invalid('The token is not a compact JWS.');
  const [headerPart, payloadPart, signaturePart] = parts;
  const header = decodeSegment(headerPart, 'header');
  if (header.alg !== 'EdDSA') throw invalid(`Algorithm ${JSON.stringify(header.alg)} is not accepted; only EdDSA is.`);
  if (typeof header.kid !== 'string' || !Object.hasOwn(keys, header.kid)) throw invalid(`Key id ${JSON.stringify(header.kid)} is not a known license signing key.`);
  const key = keys[header.kid];
  if (key.asymmetricKeyType !== 'ed25519') throw invalid(`Key ${header.kid} is not an Ed25519 key.`);
  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== 64 || !verifyBytes(null, Buffer.from(`${headerPart}.${payloadPart}`), key, signature)) {
    throw invalid('The signature does not verify.');
  }
  return { header, payload: decodeSegment(payloadPart, 'payload') };
}

/** Verifies signature, alg, kid and expiry; returns the claims. */
export function verifyLicenseToken(token: string, keys: VerificationKeys, options: { now?: number; audience?: string } = {}): LicenseClaims {
  const claims = verifyCompactJws(token, keys).payload;
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  if (typeof claims.exp !== 'number' || claims.exp <= now) throw invalid('The token has expired.');
  if (typeof claims.nbf === 'number' && claims.nbf > now + 60) throw invalid('The token is not valid yet.');
  if (typeof claims.sub !== 'string' || typeof claims.edition !== 'string') throw invalid('The token lacks the tenant or edition.');
  if (options.audience !== undefined && claims.aud !== options.audience) throw invalid('The token was issued to another appliance.');
  return claims as LicenseClaims;
}

/** The JWK member carrying a key's endorsement by the key before it (./key-endorsement.ts). */
export const ENDORSEMENT_MEMBER = 'x-alga-endorsement';

/** Public keys as a JWKS document (what the control plane publishes for appliances). */
export function toJwks(keys: { keyId: string; publicKey: KeyObject; endorsement?: string }[]): { keys: Record<string, unknown>[] } {
  return {
    keys: keys.map(({ keyId, publicKey, endorsement }) => ({
      ...publicKey.export({ format: 'jwk' }),
      kid: keyId,
      alg: 'EdDSA',
      use: 'sig',
      ...(endorsement ? { [ENDORSEMENT_MEMBER]: endorsement } : {}),
    })),
  };
}

/** Verification keys from a JWKS document; only Ed25519 OKP keys are taken. */
export function fromJwks(jwks: unknown): VerificationKeys {
  const keys: VerificationKeys = {};
  const list = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(list)) throw invalid('The key set is not a JWKS document.');
  for (const jwk of list as Record<string, unknown>[]) {
    if (jwk?.kty !== 'OKP' || jwk.crv !== 'Ed25519' || typeof jwk.kid !== 'string' || typeof jwk.x !== 'string') continue;
    try {
      keys[jwk.kid] = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    } catch {
      throw invalid(`Key ${JSON.stringify(jwk.kid)} in the key set is not a valid Ed25519 public key.`);
    }
  }
  return keys;
}
