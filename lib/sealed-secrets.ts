import { createHash } from 'node:crypto';
import nacl from 'tweetnacl';
import { AlgaError } from './errors/index.ts';

/** Install secrets sealed to the runner's public key (nacl box with a one-time sender key). */
export interface SealedSecretEnvelope {
  version: 1;
  ephemeralPublicKey: string;
  nonce: string;
  ciphertext: string;
  /**
   * Which runner key it is sealed to (recipientId of its public key), so a runner holding several
   * keys during a rotation opens it with the right one. Envelopes from before it was added lack it.
   */
  recipient?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function fromBase64(value: string, what: string, length?: number): Uint8Array {
  const bytes = typeof value === 'string' ? new Uint8Array(Buffer.from(value, 'base64')) : new Uint8Array();
  if (typeof value !== 'string' || (length !== undefined && bytes.length !== length)) {
    throw new AlgaError('E_RUNNER_SECRETS_UNREADABLE', `The ${what} is not ${length ?? 'valid'} bytes of base64.`);
  }
  return bytes;
}

const toBase64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

/** A short public id of a runner public key (base64): what an envelope names as its recipient. */
export function recipientId(runnerPublicKeyB64: string): string {
  return createHash('sha256').update(fromBase64(runnerPublicKeyB64, 'runner public key', nacl.box.publicKeyLength)).digest('base64url').slice(0, 16);
}

/** Seals name → value pairs so that only the holder of the runner's secret key can read them. */
export function sealSecrets(values: Record<string, string>, runnerPublicKeyB64: string): SealedSecretEnvelope {
  const runnerPublicKey = fromBase64(runnerPublicKeyB64, 'runner public key', nacl.box.publicKeyLength);
  const ephemeral = nacl.box.keyPair();
  const nonce = nacl.randomBytes(nacl.box.nonceLength);
  const ciphertext = nacl.box(encoder.encode(JSON.stringify(values)), nonce, runnerPublicKey, ephemeral.secretKey);
  return { version: 1, ephemeralPublicKey: toBase64(ephemeral.publicKey), nonce: toBase64(nonce), ciphertext: toBase64(ciphertext), recipient: recipientId(runnerPublicKeyB64) };
}

/** True for a value shaped like a sealed envelope (wherever it is stored). */
export function isSealedEnvelope(value: unknown): value is SealedSecretEnvelope {
  const envelope = value as Partial<SealedSecretEnvelope> | null;
  return !!envelope && typeof envelope === 'object' && envelope.version === 1 && typeof envelope.ephemeralPublicKey === 'string' && typeof envelope.nonce === 'string' && typeof envelope.ciphertext === 'string';
}

/** Deriving a public key costs a scalar multiplication: once per key, not once per execution. */
const recipients = new Map<string, string>();
function recipientOfSecretKey(secretKeyB64: string): string | undefined {
  let recipient = recipients.get(secretKeyB64);
  if (recipient === undefined) {
    try {
      recipient = recipientId(runnerPublicKeyOf(secretKeyB64));
    } catch {
      return undefined;
    }
    recipients.set(secretKeyB64, recipient);
  }
  return recipient;
}

/**
 * Opens with whichever of several runner keys it was sealed to (a runner during a key rotation
 * holds the new and the old): the named recipient first, then the others.
 */
export function openSecretsWithAny(envelope: SealedSecretEnvelope, runnerSecretKeysB64: readonly string[]): Record<string, string> {
  const named = envelope?.recipient ? runnerSecretKeysB64.filter((key) => recipientOfSecretKey(key) === envelope.recipient) : [];
  const order = [...named, ...runnerSecretKeysB64.filter((key) => !named.includes(key))];
  let failure: unknown = new AlgaError('E_RUNNER_SECRETS_UNREADABLE', 'The runner has no secret key.');
  for (const key of order) {
    try {
      return openSecrets(envelope, key);
    } catch (error) {
      failure = error;
    }
  }
  throw failure;
}

/** Opens an envelope made by `sealSecrets`; throws E_RUNNER_SECRETS_UNREADABLE if it was not sealed to this key. */
export function openSecrets(envelope: SealedSecretEnvelope, runnerSecretKeyB64: string): Record<string, string> {
  if (!envelope || envelope.version !== 1) throw new AlgaError('E_RUNNER_SECRETS_UNREADABLE', 'The envelope version is not 1.');
  const secretKey = fromBase64(runnerSecretKeyB64, 'runner secret key', nacl.box.secretKeyLength);
  const opened = nacl.box.open(
    fromBase64(envelope.ciphertext, 'ciphertext'),
    fromBase64(envelope.nonce, 'nonce', nacl.box.nonceLength),
    fromBase64(envelope.ephemeralPublicKey, 'sender public key', nacl.box.publicKeyLength),
    secretKey,
  );
  if (!opened) throw new AlgaError('E_RUNNER_SECRETS_UNREADABLE', 'It was sealed to a different key or altered.');
  const values: unknown = JSON.parse(decoder.decode(opened));
  if (!values || typeof values !== 'object' || Array.isArray(values) || Object.values(values).some((value) => typeof value !== 'string')) {
    throw new AlgaError('E_RUNNER_SECRETS_UNREADABLE', 'Its content is not a map of names to strings.');
  }
  return values as Record<string, string>;
}

/** The runner's public key for a base64 secret key (what the host seals to). */
export function runnerPublicKeyOf(runnerSecretKeyB64: string): string {
  return toBase64(nacl.box.keyPair.fromSecretKey(fromBase64(runnerSecretKeyB64, 'runner secret key', nacl.box.secretKeyLength)).publicKey);
}
