/**
 * Typed exceptions for failed host calls. A host import whose result is `err` throws an
 * error whose `payload` is the WIT `host-error` variant (`{tag, val}`); `callHost` turns it
 * into one of these classes so handlers can `catch (e) { if (e instanceof HostDeniedError) … }`.
 */

export type HostErrorKind = 'denied' | 'not-found' | 'invalid' | 'limit' | 'unavailable';

/** Base class of every failed host call. `kind` is the WIT variant case; `operation` names the call. */
export class HostError extends Error {
  readonly kind: HostErrorKind;
  readonly operation: string;

  constructor(kind: HostErrorKind, operation: string, message: string) {
    super(`${operation}: ${message}`);
    this.name = 'HostError';
    this.kind = kind;
    this.operation = operation;
  }
}

/** The install was not granted the capability, or the target (e.g. an egress host) is not allowed. */
export class HostDeniedError extends HostError {
  constructor(operation: string, message: string) {
    super('denied', operation, message);
    this.name = 'HostDeniedError';
  }
}

export class HostNotFoundError extends HostError {
  constructor(operation: string, message: string) {
    super('not-found', operation, message);
    this.name = 'HostNotFoundError';
  }
}

export class HostInvalidError extends HostError {
  constructor(operation: string, message: string) {
    super('invalid', operation, message);
    this.name = 'HostInvalidError';
  }
}

/** A quota or size limit was reached. */
export class HostLimitError extends HostError {
  constructor(operation: string, message: string) {
    super('limit', operation, message);
    this.name = 'HostLimitError';
  }
}

/** The host service is temporarily unavailable; retrying later may succeed. */
export class HostUnavailableError extends HostError {
  constructor(operation: string, message: string) {
    super('unavailable', operation, message);
    this.name = 'HostUnavailableError';
  }
}

const classByKind: Record<HostErrorKind, new (operation: string, message: string) => HostError> = {
  denied: HostDeniedError,
  'not-found': HostNotFoundError,
  invalid: HostInvalidError,
  limit: HostLimitError,
  unavailable: HostUnavailableError,
};

interface HostErrorPayload {
  tag: HostErrorKind;
  val: string;
}

function hostErrorPayload(error: unknown): HostErrorPayload | undefined {
  const payload = (error as { payload?: unknown } | null)?.payload as Partial<HostErrorPayload> | undefined;
  if (!payload || typeof payload !== 'object' || typeof payload.tag !== 'string') return undefined;
  if (!(payload.tag in classByKind)) return undefined;
  return { tag: payload.tag as HostErrorKind, val: typeof payload.val === 'string' ? payload.val : '' };
}

/** The typed exception for a thrown host error, or the error itself when it is something else. */
export function toHostError(error: unknown, operation: string): unknown {
  const payload = hostErrorPayload(error);
  if (!payload) return error;
  return new classByKind[payload.tag](operation, payload.val);
}

/** Runs one host call, rethrowing a host `err` as the matching typed exception. */
export function callHost<T>(operation: string, call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw toHostError(error, operation);
  }
}
