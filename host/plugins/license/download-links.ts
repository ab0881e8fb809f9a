import { createHmac, timingSafeEqual } from 'node:crypto';
import { AlgaError } from '../../../lib/errors/index.ts';

/**
 * Presigned download links: `<base>/download/<artifact>?tenant=<id>&expires=<unix s>&sig=<hmac>`.
 * The HMAC-SHA256 (download link key) covers artifact, tenant and expiry, so none can be edited.
 * After a rotation the old key still verifies the links it signed — only those: a link it signed
 * expires at most one link lifetime after it stopped signing, so a later expiry under the old key
 * (someone who kept the old key minting links) is refused.
 */

/** A key that verifies links; `signedUntil` (ms) is when it stopped signing, for a rotated-out key. */
export interface LinkKey {
  key: Buffer;
  signedUntil?: number;
}

export interface DownloadLink {
  url: string;
  expiresAt: string;
}

function signature(key: Buffer, artifact: string, tenantId: string, expires: number): Buffer {
  return createHmac('sha256', key).update(`alga-download\n${artifact}\n${tenantId}\n${expires}`).digest();
}

export function presignDownloadLink(options: { baseUrl: string; artifact: string; tenantId: string; ttlSeconds: number; key: Buffer; now?: number }): DownloadLink {
  const expires = Math.floor((options.now ?? Date.now()) / 1000) + options.ttlSeconds;
  const sig = signature(options.key, options.artifact, options.tenantId, expires).toString('base64url');
  const query = new URLSearchParams({ tenant: options.tenantId, expires: String(expires), sig });
  return {
    url: `${options.baseUrl.replace(/\/$/, '')}/download/${encodeURIComponent(options.artifact)}?${query}`,
    expiresAt: new Date(expires * 1000).toISOString(),
  };
}

/** Checks a link's signature and expiry; throws E_DOWNLOAD_LINK_INVALID / E_DOWNLOAD_LINK_EXPIRED. */
export function verifyDownloadLink(options: { artifact: string; tenantId?: string; expires?: string; sig?: string; keys: LinkKey[]; maxTtlSeconds: number; now?: number }): { tenantId: string } {
  const { artifact, tenantId, expires, sig } = options;
  if (!tenantId || !expires || !/^\d{1,12}$/.test(expires) || !sig || !/^[A-Za-z0-9_-]{43}$/.test(sig)) {
    throw new AlgaError('E_DOWNLOAD_LINK_INVALID');
  }
  const presented = Buffer.from(sig, 'base64url');
  const expiresMs = Number(expires) * 1000;
  const signedBy = options.keys.find(
    ({ key, signedUntil }) =>
      (signedUntil === undefined || expiresMs <= signedUntil + options.maxTtlSeconds * 1000) && timingSafeEqual(signature(key, artifact, tenantId, Number(expires)), presented),
  );
  if (!signedBy) throw new AlgaError('E_DOWNLOAD_LINK_INVALID');
  if (Number(expires) * 1000 <= (options.now ?? Date.now())) throw new AlgaError('E_DOWNLOAD_LINK_EXPIRED');
  return { tenantId };
}
