import { errorCatalog, type ErrorCode } from '../../../../lib/errors/index.ts';
import { runnerErrors } from '../../../../lib/errors/runner.ts';

/**
 * Runner statuses whose catalog code tells the caller something they can act on (body too large,
 * bundle refused, busy, deadline, the extension failed). Anything else — a bad token, an unknown
 * hash, a malformed request — is the host's problem with its runner: E_RUNNER_UNAVAILABLE.
 */
const passedThroughStatuses = new Set([413, 422, 429, 500, 502, 504, 507]);

/** The generic code for a runner status when its answer names no usable catalog code. */
function genericCodeFor(status: number): ErrorCode {
  if (status === 504) return 'E_EXT_TIMEOUT';
  if (status === 429) return 'E_EXT_RATE_LIMITED';
  if (status === 500) return 'E_EXT_FAILED';
  if (status === 413) return 'E_BODY_TOO_LARGE';
  if (status === 507) return 'E_STORAGE_FULL';
  return 'E_RUNNER_UNAVAILABLE';
}

/**
 * The catalog code the gateway answers for a runner failure. The runner's own code is passed on
 * only when it is a runner catalog entry with the very status the runner answered; the client then
 * gets that code with the catalog's sentence (never the runner's message).
 */
export function clientCodeForRunnerFailure(status: number, runnerCode: unknown): ErrorCode {
  if (!passedThroughStatuses.has(status)) return 'E_RUNNER_UNAVAILABLE';
  if (typeof runnerCode === 'string' && Object.hasOwn(runnerErrors, runnerCode) && errorCatalog[runnerCode as ErrorCode].status === status) {
    return runnerCode as ErrorCode;
  }
  return genericCodeFor(status);
}
