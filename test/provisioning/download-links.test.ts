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
    expect(verifyDownloadLink({ ...parse(link.url), key }).tenantId).toBe('t-1');
  });

  it('expire', () => {
    expect(codeOf(() => verifyDownloadLink({ ...parse(link.url), key, now: Date.now() + 601_000 }))).toBe('E_DOWNLOAD_LINK_EXPIRED');
  });

  it('cannot be edited or forged', () => {
    const fields = parse(link.url);
    expect(codeOf(() => verifyDownloadLink({ ...fields, expires: String(Number(fields.expires) + 3600), key }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, tenantId: 't-2', key }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, artifact: 'other.iso', key }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, key: randomBytes(32) }))).toBe('E_DOWNLOAD_LINK_INVALID');
    expect(codeOf(() => verifyDownloadLink({ ...fields, sig: undefined, key }))).toBe('E_DOWNLOAD_LINK_INVALID');
  });
});
