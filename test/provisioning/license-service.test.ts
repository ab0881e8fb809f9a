import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchLicenseKeys, parsePinnedKeys, redeemInstallCode, serviceUrlFrom } from '../../host/plugins/appliance/license-service.ts';
import { toJwks } from '../../host/plugins/license/license-token.ts';

/** The appliance's client for the license service: every bad answer or setting is a catalog error. */

let server: Server;
let baseUrl: string;
let answer: { status: number; body: string } = { status: 200, body: '{}' };
beforeAll(async () => {
  server = createServer((_req, res) => res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('license service client', () => {
  it('ALGA_LICENSE_PUBLIC_KEYS: takes a JWKS, refuses malformed JSON and key sets without a key as a config error', () => {
    const jwks = JSON.stringify(toJwks([{ keyId: 'lk-pinned', publicKey: generateKeyPairSync('ed25519').publicKey }]));
    expect(Object.keys(parsePinnedKeys(jwks).keys)).toEqual(['lk-pinned']);
    for (const bad of ['{bad', '{"keys":[]}', '[]', '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k","x":"AA"}]}']) {
      expect(() => parsePinnedKeys(bad), bad).toThrow(expect.objectContaining({ code: 'E_HOST_CONFIG_INVALID', message: expect.stringContaining('ALGA_LICENSE_PUBLIC_KEYS') }));
    }
  });

  it('an install code on a host without ALGA_LICENSE_SERVICE_URL is a 503 with a sentence, not a 500', () => {
    expect(() => serviceUrlFrom({})).toThrow(expect.objectContaining({ code: 'E_LICENSE_SERVICE_URL_MISSING', status: 503 }));
    expect(() => serviceUrlFrom({ ALGA_LICENSE_SERVICE_URL: 'ftp://x' })).toThrow(expect.objectContaining({ code: 'E_HOST_CONFIG_INVALID' }));
    expect(serviceUrlFrom({ ALGA_LICENSE_SERVICE_URL: 'https://license.test/' })).toBe('https://license.test');
  });

  it('a JWKS answer that is not a key set is a service error', async () => {
    answer = { status: 200, body: '<html>captive portal</html>' };
    await expect(fetchLicenseKeys(baseUrl)).rejects.toMatchObject({ code: 'E_LICENSE_SERVICE_ERROR' });
  });

  it('a registration answer with fields of the wrong type is a service error, not a crash', async () => {
    answer = { status: 200, body: JSON.stringify({ tenant_id: 'tnt_1', edition: 'pro', company_name: 'Co', contact_email: 'a@b.test', first_jwt: 42 }) };
    await expect(redeemInstallCode(baseUrl, 'ALGA-X', 'apl_12345678', 'A'.repeat(43))).rejects.toMatchObject({ code: 'E_LICENSE_SERVICE_ERROR', message: expect.stringContaining('first_jwt') });
    answer = { status: 200, body: JSON.stringify({ tenant_id: 'tnt_1', edition: 'pro', check_in_url: 'not a url' }) };
    await expect(redeemInstallCode(baseUrl, 'ALGA-X', 'apl_12345678', 'A'.repeat(43))).rejects.toMatchObject({ code: 'E_LICENSE_SERVICE_ERROR', message: expect.stringContaining('check_in_url') });
    answer = { status: 400, body: JSON.stringify({ error: { reason: 'expired_claim_code' } }) };
    await expect(redeemInstallCode(baseUrl, 'ALGA-X', 'apl_12345678', 'A'.repeat(43))).rejects.toMatchObject({ code: 'E_INSTALL_CODE_EXPIRED' });
  });
});
