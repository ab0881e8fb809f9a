import { bundleErrors } from './bundle.ts';
import { buildErrors } from './build.ts';
import { runnerErrors } from './runner.ts';
import { hostErrors } from './host.ts';
import { provisioningErrors } from './provisioning.ts';
import { extensionErrors } from './extension.ts';

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
} as const satisfies Record<string, ErrorDefinition>;

export type ErrorCode = keyof typeof errorCatalog;

/** An error raised from the catalog. `detail` adds specifics (a field, a file:line) to the sentence. */
export class AlgaError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail?: string;

  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    const definition = errorCatalog[code];
    super(detail ? `${definition.message} ${detail}` : definition.message, options);
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
