import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/**
 * A private Sigstore-style transparency log for tests: our own log key in a trusted root,
 * and real Sigstore bundles (v0.1, hashedrekord 0.0.1, signed entry timestamp) signed with
 * a managed ECDSA key. @sigstore/verify checks them exactly as it checks public ones.
 */
export interface PrivateSigstore {
  trustedRoot: unknown;
  /** PEM of the managed signing key's public half. */
  signerPublicKeyPem: string;
  bundleFor(artifact: Uint8Array): unknown;
}

export function createPrivateSigstore(): PrivateSigstore {
  const log = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const signer = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const logDer = log.publicKey.export({ type: 'spki', format: 'der' });
  const logId = createHash('sha256').update(logDer).digest();
  const signerPem = signer.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const trustedRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [
      {
        baseUrl: 'https://rekor.test.invalid',
        hashAlgorithm: 'SHA2_256',
        publicKey: { rawBytes: logDer.toString('base64'), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start: '2020-01-01T00:00:00Z' } },
        logId: { keyId: logId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  let index = 0;
  return {
    trustedRoot,
    signerPublicKeyPem: signerPem,
    bundleFor(artifact) {
      const digest = createHash('sha256').update(artifact).digest();
      const signature = sign('sha256', artifact, signer.privateKey);
      const body = Buffer.from(
        JSON.stringify({
          apiVersion: '0.0.1',
          kind: 'hashedrekord',
          spec: {
            data: { hash: { algorithm: 'sha256', value: digest.toString('hex') } },
            signature: { content: signature.toString('base64'), publicKey: { content: Buffer.from(signerPem).toString('base64') } },
          },
        }),
      );
      const logIndex = index++;
      const integratedTime = Math.floor(Date.now() / 1000) - 60;
      const set = signedEntryTimestamp(log.privateKey, body, integratedTime, logIndex, logId);
      return {
        mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
        verificationMaterial: {
          publicKey: { hint: createHash('sha256').update(signer.publicKey.export({ type: 'spki', format: 'der' })).digest('base64') },
          tlogEntries: [
            {
              logIndex: String(logIndex),
              logId: { keyId: logId.toString('base64') },
              kindVersion: { kind: 'hashedrekord', version: '0.0.1' },
              integratedTime: String(integratedTime),
              inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
              canonicalizedBody: body.toString('base64'),
            },
          ],
          timestampVerificationData: { rfc3161Timestamps: [] },
        },
        messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: digest.toString('base64') }, signature: signature.toString('base64') },
      };
    },
  };
}

/** Rekor's SET: the log key's signature over the canonical JSON of the entry's coordinates. */
function signedEntryTimestamp(logKey: KeyObject, body: Buffer, integratedTime: number, logIndex: number, logId: Buffer): Buffer {
  const payload = `{"body":"${body.toString('base64')}","integratedTime":${integratedTime},"logID":"${logId.toString('hex')}","logIndex":${logIndex}}`;
  return sign('sha256', Buffer.from(payload), logKey);
}
