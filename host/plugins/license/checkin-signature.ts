import { createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';

/**
 * A check-in proves itself fresh: the appliance signs its id, the time and a random nonce with
 * the Ed25519 key whose public half it registered when it redeemed its install code. The control
 * plane accepts a time within CHECKIN_MAX_SKEW_SECONDS of its own clock and each nonce once, so a
 * captured check-in cannot be replayed, and a stolen appliance credential alone cannot check in.
 */

export const CHECKIN_MAX_SKEW_SECONDS = 300;

export interface SignedCheckin {
  appliance_id: string;
  /** Unix seconds. */
  issued_at: number;
  /** base64url, 16+ random bytes. */
  nonce: string;
  /** base64url Ed25519 signature over checkinMessage(). */
  signature: string;
  /** Sent by an appliance registered before check-ins were signed: the key to enroll. */
  public_key?: string;
}

function checkinMessage(applianceId: string, issuedAt: number, nonce: string): Buffer {
  return Buffer.from(`alga-checkin/v1\n${applianceId}\n${issuedAt}\n${nonce}`);
}

/** An Ed25519 public key as the raw 32 bytes, base64url (the JWK `x`). */
export function publicKeyText(key: KeyObject): string {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }).x!;
}

export function publicKeyFromText(text: string): KeyObject | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(text)) return undefined;
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: text }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

export function signCheckin(applianceId: string, privateKey: KeyObject, now = Date.now()): SignedCheckin {
  const issuedAt = Math.floor(now / 1000);
  const nonce = randomBytes(18).toString('base64url');
  return { appliance_id: applianceId, issued_at: issuedAt, nonce, signature: sign(null, checkinMessage(applianceId, issuedAt, nonce), privateKey).toString('base64url') };
}

export function checkinSignatureValid(checkin: SignedCheckin, publicKey: KeyObject): boolean {
  const signature = Buffer.from(checkin.signature, 'base64url');
  return signature.length === 64 && verify(null, checkinMessage(checkin.appliance_id, checkin.issued_at, checkin.nonce), publicKey, signature);
}
