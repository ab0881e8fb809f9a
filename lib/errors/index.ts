import { bundleErrors } from './bundle.ts';
import { buildErrors } from './build.ts';
import { runnerErrors } from './runner.ts';
import { hostErrors } from './host.ts';
import { provisioningErrors } from './provisioning.ts';
import { extensionErrors } from './extension.ts';
import { fleetErrors } from './fleet.ts';

/** One error the user can act on: a code, a sentence, and the HTTP status it maps to. */
export interface ErrorDefinition {
  readonly message: string;
  readonly status: number;
}

/**
 * The one catalog of user-facing errors, shared by the CLI, the host and the runner.
 * Each area keeps its entries in its own file; codes are unique across all of them.
 */
export const errorCatalog = {
  ...bundleErrors,
  ...buildErrors,
  ...runnerErrors,
  ...hostErrors,
  ...provisioningErrors,
  ...extensionErrors,
  ...fleetErrors,
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalog;

/**
 * V8's stack depth setting, typed here because extension projects type-check this file (it holds
 * the ErrorDefinition type the SDK uses) without Node's types.
 */
const v8Errors = Error as { stackTraceLimit?: number };

/** An error raised from the catalog. `detail` adds specifics (a field, a file:line) to the sentence. */
export class AlgaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail?: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const definition = errorCatalog[code];
    // A refusal (4xx) is an answer, not a fault, and nothing reads its stack; collecting one cost
    // more than the rest of a refused gateway call (bench/gateway.ts, `host`). Faults keep theirs.
    const stackFrames = v8Errors.stackTraceLimit;
    if (definition.status < 500) v8Errors.stackTraceLimit = 0;
    super(detail ? `${definition.message} ${detail}` : definition.message, options);
    v8Errors.stackTraceLimit = stackFrames;
    this.name = 'AlgaError';
    this.code = code;
    this.status = definition.status;
    this.detail = detail;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isAlgaError(value: unknown, code?: ErrorCode): value is AlgaError {
  return value instanceof AlgaError && (code === undefined || value.code === code);
}
