import { AlgaError } from '../../../../lib/errors/index.ts';

/**
 * A publish upload is either
 *  - `application/octet-stream`: the bundle bytes, with the signature file (JSON) base64-encoded
 *    in the `X-Alga-Signature` header; or
 *  - `application/json`: `{"bundle_b64": "...", "signatures": {signature file}}`.
 */
export const SIGNATURE_HEADER = 'x-alga-signature';

export function parseUpload(body: unknown, headers: Record<string, string | string[] | undefined>): { bytes: Uint8Array; signatureFile: unknown } {
  if (Buffer.isBuffer(body)) {
    const header = headers[SIGNATURE_HEADER];
    if (typeof header !== 'string' || header === '') throw new AlgaError('E_SIGNATURE_MISSING', `Send the signature file base64-encoded in the ${SIGNATURE_HEADER} header.`);
    let signatureFile: unknown;
    try {
      signatureFile = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
    } catch {
      throw new AlgaError('E_REGISTRY_UPLOAD_INVALID', `The ${SIGNATURE_HEADER} header is not base64 of a JSON signature file.`);
    }
    return { bytes: body, signatureFile };
  }
  if (body && typeof body === 'object' && !Array.isArray(body)) {
    const { bundle_b64: bundleB64, signatures } = body as { bundle_b64?: unknown; signatures?: unknown };
    if (typeof bundleB64 !== 'string' || bundleB64 === '') throw new AlgaError('E_REGISTRY_UPLOAD_INVALID', 'bundle_b64 is missing.');
    return { bytes: Buffer.from(bundleB64, 'base64'), signatureFile: signatures ?? undefined };
  }
  throw new AlgaError('E_REGISTRY_UPLOAD_INVALID', 'Send application/octet-stream with the X-Alga-Signature header, or JSON {bundle_b64, signatures}.');
}
