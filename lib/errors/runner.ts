import type { ErrorDefinition } from './index.ts';

/** Runner errors: loading, executing and host API calls. */
export const runnerErrors = {
  E_RUNNER_UNAUTHORIZED: { status: 401, message: 'The runner service token is missing or wrong.' },
  E_RUNNER_BAD_REQUEST: { status: 400, message: 'The execute request is malformed.' },
  E_RUNNER_CONFIG_INVALID: { status: 500, message: 'The runner configuration is invalid.' },
  E_RUNNER_BUNDLE_NOT_FOUND: { status: 404, message: 'No bundle with this content hash is available to the runner.' },
  E_RUNNER_REGISTRY_UNAVAILABLE: { status: 503, message: 'The bundle registry could not be reached in time; retry shortly.' },
  E_RUNNER_REGISTRY_BAD_ANSWER: { status: 502, message: 'The bundle registry gave an answer the runner cannot use.' },
  E_RUNNER_VERIFICATION_FAILED: { status: 422, message: 'The bundle failed verification and will not be run.' },
  E_RUNNER_UNSUPPORTED_IMPORT: { status: 422, message: 'The component imports an interface the runner does not provide.' },
  E_RUNNER_TRANSPILE_FAILED: { status: 422, message: 'The component could not be transpiled for execution.' },
  E_RUNNER_MEMORY_LIMIT_TOO_SMALL: { status: 422, message: 'The memory limit is smaller than the memory the component needs at start.' },
  E_RUNNER_DEADLINE: { status: 504, message: 'The extension did not answer before its deadline; it was stopped.' },
  E_RUNNER_GUEST_TRAP: { status: 500, message: 'The extension crashed (trap); its instance was discarded.' },
  E_RUNNER_GUEST_MEMORY: { status: 500, message: 'The extension ran out of its memory limit; its instance was discarded.' },
  E_RUNNER_GUEST_INVALID_RESPONSE: { status: 500, message: 'The extension returned an invalid response.' },
  E_RUNNER_BUSY: { status: 429, message: 'Too many executions are running for this tenant or extension; retry shortly.' },
  E_RUNNER_QUEUE_TIMEOUT: { status: 503, message: 'No worker was free to start the execution in time; retry shortly.' },
  E_RUNNER_QUEUE_FULL: { status: 429, message: 'The runner queue is full; retry shortly.' },
  E_RUNNER_REQUEST_TOO_LARGE: { status: 413, message: 'The request body is larger than the install allows.' },
  E_RUNNER_RESPONSE_TOO_LARGE: { status: 502, message: 'The extension response is larger than the install allows.' },
  E_RUNNER_SECRETS_UNREADABLE: { status: 500, message: 'The sealed secret envelope could not be opened with the runner key.' },
  E_RUNNER_UI_NOT_FOUND: { status: 404, message: 'No such UI file in this extension version.' },
  E_RUNNER_STORAGE_FULL: { status: 507, message: 'The runner\'s disk is full, so it cannot prepare this extension version; free space and retry (extensions already loaded keep running).' },
  E_RUNNER_SHUTTING_DOWN: { status: 503, message: 'The runner is shutting down.' },
  E_RUNNER_INTERNAL: { status: 500, message: 'The runner failed unexpectedly; the request was not run.' },
} as const satisfies Record<string, ErrorDefinition>;
