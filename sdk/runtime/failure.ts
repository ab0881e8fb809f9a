import { extensionErrors, type ExtensionErrorCode } from '../../lib/errors/extension.ts';
import { HostError } from './errors.ts';
import { errorResponse, HttpError, type HttpResponse } from './response.ts';

/**
 * The response header that carries a failure's code and cause to the runner, which removes it from
 * the answer and writes both into the execution record (log, debug stream, `alga-ext run`).
 * The value is `CODE <percent-encoded cause>`.
 */
export const failureHeader = 'alga-extension-error';

const maxCauseLength = 1000;

/** The catalog code for an exception that escaped a handler. */
function codeOf(error: unknown): ExtensionErrorCode {
  if (error instanceof HostError) return error.kind === 'denied' ? 'E_EXT_HOST_DENIED' : error.kind === 'limit' ? 'E_EXT_HOST_LIMIT' : 'E_EXT_HOST_CALL_FAILED';
  if (error instanceof InvalidResponseError) return 'E_EXT_INVALID_RESPONSE';
  return 'E_EXT_UNHANDLED';
}

/** A handler returned something that is not a response (or a Promise). */
export class InvalidResponseError extends TypeError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidResponseError';
  }
}

function causeOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return `A non-Error was thrown: ${typeof error === 'string' ? error : JSON.stringify(error)}`;
  } catch {
    return `A non-Error was thrown: ${String(error)}`;
  }
}

/**
 * The stack as `    at name (file:line:col)` lines, the guest's own frames only. SpiderMonkey
 * writes frames as `name@file:line:col`; V8 (unit tests) already as `    at …`.
 */
export function stackLines(error: unknown): string[] {
  const stack = error instanceof Error && typeof error.stack === 'string' ? error.stack : '';
  const lines: string[] = [];
  for (const line of stack.split('\n')) {
    const frame = /^(.*)@(.+?):(\d+):(\d+)$/.exec(line.trim());
    if (frame) {
      if (!frame[2].endsWith('extension.js')) continue; // componentize-js's own glue
      lines.push(`    at ${frame[1] || '<anonymous>'} (${frame[2]}:${frame[3]}:${frame[4]})`);
    } else if (/^\s+at /.test(line)) lines.push(line);
  }
  return lines;
}

/**
 * Answers an exception that escaped a handler instead of letting it trap (which would discard the
 * instance and its module state): an HttpError becomes its own status and message; anything else
 * a 500 with a catalog code whose sentence reveals nothing of the cause to the caller. The cause and
 * stack go to stderr (the debug stream, where the runner maps frames to the TypeScript source)
 * and, through `failureHeader`, into the execution record.
 */
export function failureResponse(error: unknown, requestId: string, method: string, path: string): HttpResponse {
  if (error instanceof HttpError) return errorResponse(error.status, error, requestId, error.headers);
  const code = codeOf(error);
  const cause = causeOf(error);
  console.error([`${code} in ${method} ${path} (request ${requestId}): ${cause}`, ...stackLines(error)].join('\n'));
  const response = errorResponse(extensionErrors[code].status, { code, message: extensionErrors[code].message }, requestId);
  response.headers.push([failureHeader, `${code} ${encodeURIComponent(cause.slice(0, maxCauseLength))}`]);
  return response;
}
