import { generateKeyPairSync, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromJwks, signLicenseToken, toJwks, verifyLicenseToken, type LicenseClaims } from '../../host/plugins/license/license-token.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const keys = { 'lk-1': publicKey };
const now = Math.floor(Date.now() / 1000);
const claims: LicenseClaims = { iss: 'alga-license', sub: 'tenant-1', aud: 'appliance-1', edition: 'pro', iat: now, exp: now + 3600 };
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function rejection(token: string): string {
  try {
    verifyLicenseToken(token, keys);
  } catch (error) {
    if (isAlgaError(error, 'E_LICENSE_TOKEN_INVALID')) return error.message;
    throw error;
  }
  throw new Error('token was accepted');
}

describe('license JWT (EdDSA with kid)', () => {
  it('verifies a token it signed and round-trips through JWKS', () => {
    const token = signLicenseToken(claims, { keyId: 'lk-1', privateKey });
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: 'lk-1' });
    expect(verifyLicenseToken(token, keys, { audience: 'appliance-1' }).sub).toBe('tenant-1');
    expect(verifyLicenseToken(token, fromJwks(JSON.parse(JSON.stringify(toJwks([{ keyId: 'lk-1', publicKey }]))))).edition).toBe('pro');
  });

  it('rejects alg none', () => {
    expect(rejection(`${b64({ alg: 'none', typ: 'JWT', kid: 'lk-1' })}.${b64(claims)}.`)).toMatch(/"none" is not accepted/);
  });

  it('rejects HS256 signed with the public key bytes (alg confusion)', () => {
    expect(rejection(`${b64({ alg: 'HS256', kid: 'lk-1' })}.${b64(claims)}.c2ln`)).toMatch(/not accepted/);
  });

  it('rejects a token signed with another key under a known kid', () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    expect(rejection(signLicenseToken(claims, { keyId: 'lk-1', privateKey: other }))).toMatch(/signature does not verify/);
  });

  it('rejects an unknown kid', () => {
    expect(rejection(signLicenseToken(claims, { keyId: 'lk-2', privateKey }))).toMatch(/not a known license signing key/);
  });

  it('rejects an expired token', () => {
    expect(rejection(signLicenseToken({ ...claims, exp: now - 1 }, { keyId: 'lk-1', privateKey }))).toMatch(/expired/);
  });

  it('rejects edited claims and a token for another appliance', () => {
    const [h, , s] = signLicenseToken(claims, { keyId: 'lk-1', privateKey }).split('.');
    expect(rejection(`${h}.${b64({ ...claims, edition: 'enterprise' })}.${s}`)).toMatch(/signature/);
    const token = signLicenseToken(claims, { keyId: 'lk-1', privateKey });
    expect(() => verifyLicenseToken(token, keys, { audience: 'appliance-2' })).toThrow(/another appliance/);
  });

  it('rejects an RSA key offered as a verification key', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const token = signLicenseToken(claims, { keyId: 'lk-1', privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })) });
    expect(() => verifyLicenseToken(token, { 'lk-1': rsa.publicKey })).toThrow(/not an Ed25519 key/);
  });
});

describe('license key sets', () => {
  it('refuses a JWKS whose Ed25519 key is malformed with a catalog error, not a crash', () => {
    const malformed = { keys: [{ kty: 'OKP', crv: 'Ed25519', kid: 'lk-bad', x: 'AAAA' }] };
    expect(() => fromJwks(malformed)).toThrow(expect.objectContaining({ code: 'E_LICENSE_TOKEN_INVALID', message: expect.stringMatching(/lk-bad/) }));
  });
});
