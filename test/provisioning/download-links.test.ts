import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { presignDownloadLink, verifyDownloadLink } from '../../host/plugins/license/download-links.ts';
import { isAlgaError } from '../../lib/errors/index.ts';

const key = randomBytes(32);
const parse = (url: string) => {
  const parsed = new URL(url);
  return { artifact: decodeURIComponent(parsed.pathname.split('/').pop()!), tenantId: parsed.searchParams.get('tenant') ?? undefined, expires: parsed.searchParams.get('expires') ?? undefined, sig: parsed.searchParams.get('sig') ?? undefined };
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return 'accepted';
  } catch (error) {
    return isAlgaError(error) ? error.code : String(error);
  }
};

describe('presigned download links', () => {
  const link = presignDownloadLink({ baseUrl: 'http://cp.test/', artifact: 'alga-appliance.iso', tenantId: 't-1', ttlSeconds: 600, key });

  it('verify while fresh', () => {
    expect(link.url.startsWith('http://cp.test/download/alga-appliance.iso?')).toBe(true);
    expect(verifyDownloadLink({ ...parse(link.url), keys: [{ key }], maxTtlSeconds: 600 }).tenantId).toBe('t-1');
  });

  it('expire', () => {
    expect(codeOf(() => verifyDownloadLink({ ...parse(link.url), keys: [{ key }], maxTtlSeconds: 600, now: Date.now() + 601_000 }))).toBe('E_DOWNLOAD_LINK_EXPIRED');
  });

  it('cannot be edited or forged', () => {
    const fields = parse(link.url);
    expect(codeOf(() => verifyDownloadLink({ ...fields, expires: String(Number(fields.expires) + 3600), keys: [{ key }], maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, tenantId: 't-2', keys: [{ key }], maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, artifact: 'other.iso', keys: [{ key }], maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, keys: [{ key: randomBytes(32) }], maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, sig: undefined, keys: [{ key }], maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
  });

  it('after a rotation the old key verifies only the links it signed before it stopped signing', () => {
    const now = Date.now();
    const newKey = randomBytes(32);
    const rotatedAt = now + 60_000;
    const keys = [{ key: newKey }, { key, signedUntil: rotatedAt }];
    expect(verifyDownloadLink({ ...parse(link.url), keys, maxTtlSeconds: 600 }).tenantId).toBe('t-1');
    const fresh = presignDownloadLink({ baseUrl: 'http://cp.test', artifact: 'alga-appliance.iso', tenantId: 't-1', ttlSeconds: 600, key: newKey });
    expect(verifyDownloadLink({ ...parse(fresh.url), keys, maxTtlSeconds: 600 }).tenantId).toBe('t-1');
    // Someone who kept the old key cannot mint a link that outlives what it could have signed.
    const forged = presignDownloadLink({ baseUrl: 'http://cp.test', artifact: 'alga-appliance.iso', tenantId: 't-1', ttlSeconds: 86_400, key });
    expect(codeOf(() => verifyDownloadLink({ ...parse(forged.url), keys, maxTtlSeconds: 600 }))).toBe('E_DOWNLOAD_LINK_INVALID');
  });
});
