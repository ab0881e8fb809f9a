import { createHash, createPublicKey, timingSafeEqual, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial, type SignedEntity } from '@sigstore/verify';
import { AlgaError } from '../errors/index.ts';

export interface SigstoreVerifyOptions {
  /** The Sigstore bundle, parsed JSON. */
  bundle: unknown;
  /** The signed artifact bytes (for an in-toto DSSE bundle: the attestation's subject). */
  artifact: Uint8Array;
  /** trusted_root.json content; default: the public-good root shipped in @sigstore/tuf. */
  trustedRoot?: unknown;
  /** Verify with this managed key (PEM) instead of a certificate identity. */
  key?: string;
  /** Certificate identity (subject alternative name) and OIDC issuer required of the signer. */
  identity?: string;
  issuer?: string;
}

export interface SigstoreSigner {
  identity?: string;
  issuer?: string;
}

/**
 * Verifies a Sigstore bundle over `artifact` fully offline with @sigstore/verify, plus the
 * checks the Sigstore conformance suite requires that the library leaves out:
 * strict base64 signatures and non-negative log indexes, no root certificate inside the
 * bundle's chain, a trusted root whose validity ranges all have a start, the Rekor v2
 * hashedrekord-over-DSSE digest, and an in-toto subject that names the artifact.
 * Throws E_SIGSTORE_INVALID with the reason.
 */
export function verifySigstoreBundle(options: SigstoreVerifyOptions): SigstoreSigner {
  if (!options.key && !(options.identity && options.issuer)) {
    throw new AlgaError('E_SIGSTORE_INVALID', 'Give a public key, or a certificate identity and its issuer, to verify against.');
  }
  try {
    checkBundleJson(options.bundle);
    const rootJson = options.trustedRoot ?? publicGoodTrustedRoot();
    checkTrustedRootJson(rootJson);
    const bundle = bundleFromJSON(options.bundle);
    checkCertificateChain(bundle);
    const material = toTrustMaterial(TrustedRoot.fromJSON(rootJson), options.key ? managedKeyFinder(options.key) : undefined);
    const artifact = Buffer.from(options.artifact);
    const entity = signedEntityFor(bundle, artifact);
    const policy = options.key ? undefined : { subjectAlternativeName: options.identity, extensions: { issuer: options.issuer } };
    const signer = new Verifier(material).verify(entity, policy);
    if (bundle.content.$case === 'dsseEnvelope') checkInTotoSubject(bundle.content.dsseEnvelope, artifact);
    return { identity: signer.identity?.subjectAlternativeName, issuer: signer.identity?.extensions?.issuer };
  } catch (error) {
    if (error instanceof AlgaError) throw error;
    throw new AlgaError('E_SIGSTORE_INVALID', reasonOf(error), { cause: error });
  }
}

function fail(reason: string): never {
  throw new AlgaError('E_SIGSTORE_INVALID', reason);
}

function reasonOf(error: unknown): string {
  const message = (error as Error)?.message ?? String(error);
  return /[.!?]$/.test(message) ? message : `${message}.`;
}

/** Checks on the raw JSON that protobuf decoding would silently smooth over. */
function checkBundleJson(json: unknown): void {
  const bundle = json as {
    messageSignature?: { signature?: unknown };
    dsseEnvelope?: { signatures?: { sig?: unknown }[] };
    verificationMaterial?: { tlogEntries?: { logIndex?: unknown }[] };
  } | null;
  if (!bundle || typeof bundle !== 'object') fail('The Sigstore bundle must be a JSON object.');
  if (bundle.messageSignature) checkStrictBase64(bundle.messageSignature.signature, 'messageSignature.signature');
  bundle.dsseEnvelope?.signatures?.forEach((entry, index) => checkStrictBase64(entry?.sig, `dsseEnvelope.signatures[${index}].sig`));
  bundle.verificationMaterial?.tlogEntries?.forEach((entry, index) => {
    const logIndex = entry?.logIndex;
    if (!(typeof logIndex === 'string' || typeof logIndex === 'number') || !/^\d+$/.test(String(logIndex))) {
      fail(`tlogEntries[${index}].logIndex must be a non-negative integer.`);
    }
  });
}

function checkStrictBase64(value: unknown, field: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) {
    fail(`${field} is not valid base64.`);
  }
}

/** Every validity range in a trusted root must have a start; a missing bound is not "forever". */
function checkTrustedRootJson(json: unknown): void {
  type Range = { start?: unknown };
  const root = json as {
    tlogs?: { publicKey?: { validFor?: Range } }[];
    ctlogs?: { publicKey?: { validFor?: Range } }[];
    certificateAuthorities?: { validFor?: Range }[];
    timestampAuthorities?: { validFor?: Range }[];
  } | null;
  if (!root || typeof root !== 'object') fail('The trusted root must be a JSON object.');
  const missing = (range: Range | undefined): boolean => !range || typeof range.start !== 'string' || range.start === '';
  root.tlogs?.forEach((log, index) => missing(log?.publicKey?.validFor) && fail(`Trusted root tlogs[${index}].publicKey.validFor.start is missing.`));
  root.ctlogs?.forEach((log, index) => missing(log?.publicKey?.validFor) && fail(`Trusted root ctlogs[${index}].publicKey.validFor.start is missing.`));
  root.certificateAuthorities?.forEach((ca, index) => missing(ca?.validFor) && fail(`Trusted root certificateAuthorities[${index}].validFor.start is missing.`));
  root.timestampAuthorities?.forEach((tsa, index) => missing(tsa?.validFor) && fail(`Trusted root timestampAuthorities[${index}].validFor.start is missing.`));
}

/** The bundle's chain must lead to a trusted root, never carry a (self-signed) root itself. */
function checkCertificateChain(bundle: Bundle): void {
  const content = bundle.verificationMaterial.content;
  if (content.$case !== 'x509CertificateChain') return;
  const certificates = content.x509CertificateChain.certificates;
  if (certificates.length === 0) fail('The bundle\'s certificate chain is empty.');
  for (const { rawBytes } of certificates) {
    const certificate = new X509Certificate(Buffer.from(rawBytes));
    if (certificate.subject === certificate.issuer && certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey)) {
      fail('The bundle\'s certificate chain contains a root certificate.');
    }
  }
}

/**
 * A Rekor v2 hashedrekord entry for a DSSE envelope records sha256(PAE(type, payload)),
 * while the library compares it to sha256(payload); give it the right digest to compare.
 */
function signedEntityFor(bundle: Bundle, artifact: Buffer): SignedEntity {
  const entity = toSignedEntity(bundle, artifact);
  if (bundle.content.$case !== 'dsseEnvelope') return entity;
  const kinds = new Set(entity.tlogEntries.map((entry) => entry.kindVersion?.kind));
  if (!kinds.has('hashedrekord')) return entity;
  if (kinds.size > 1) fail('The bundle mixes hashedrekord and other log entry kinds for one DSSE envelope.');
  const envelope = bundle.content.dsseEnvelope;
  const paeDigest = createHash('sha256').update(preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload))).digest();
  const signature = entity.signature;
  return {
    ...entity,
    signature: {
      signature: signature.signature,
      compareSignature: (candidate) => signature.compareSignature(candidate),
      verifySignature: (key) => signature.verifySignature(key),
      compareDigest: (digest) => digest.length === paeDigest.length && timingSafeEqual(digest, paeDigest),
    },
  };
}

/** DSSE pre-authentication encoding (DSSE v1). */
function preAuthEncoding(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

/** An in-toto statement in a DSSE envelope must name the artifact's sha256 among its subjects. */
function checkInTotoSubject(envelope: { payloadType: string; payload: Uint8Array }, artifact: Buffer): void {
  if (envelope.payloadType !== 'application/vnd.in-toto+json') fail(`Unsupported DSSE payload type ${envelope.payloadType}.`);
  let statement: { subject?: { digest?: Record<string, string> }[] };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8'));
  } catch {
    fail('The DSSE payload is not an in-toto statement (not JSON).');
  }
  const digest = createHash('sha256').update(artifact).digest('hex');
  const named = (statement.subject ?? []).some((subject) => subject?.digest?.sha256?.toLowerCase() === digest);
  if (!named) fail('The in-toto statement does not name the artifact (sha256) as a subject.');
}

function managedKeyFinder(pem: string) {
  let publicKey;
  try {
    publicKey = createPublicKey(pem);
  } catch (error) {
    fail(`The public key is not a valid PEM key (${(error as Error).message}).`);
  }
  return () => ({ publicKey, validFor: () => true });
}

let publicGood: unknown;

/** The Sigstore public-good trusted root, embedded in @sigstore/tuf's seeds.json (no network). */
export function publicGoodTrustedRoot(): unknown {
  if (!publicGood) {
    const require = createRequire(import.meta.url);
    const seeds = JSON.parse(readFileSync(require.resolve('@sigstore/tuf/seeds.json'), 'utf8')) as Record<string, { targets: Record<string, string> }>;
    const target = seeds['https://tuf-repo-cdn.sigstore.dev'].targets['trusted_root.json'];
    publicGood = JSON.parse(Buffer.from(target, 'base64').toString('utf8'));
  }
  return publicGood;
}
