import type { ErrorDefinition } from './index.ts';

/** Host errors: store, auth, plugins, registry, installs, gateway. */
export const hostErrors = {
  // Store and startup
  E_STORE_SCHEMA_NEWER: { status: 500, message: 'The data folder was written by a newer version of the host; upgrade the host to open it.' },
  E_STORE_MIGRATION_FAILED: { status: 500, message: 'A store migration failed; nothing was changed.' },
  E_STORAGE_FULL: { status: 507, message: 'The host\'s disk is full, so nothing was written; free space in its data folder and retry (reads keep working meanwhile).' },
  E_STORAGE_FAILED: { status: 500, message: 'The host could not write to its data folder (an I/O error or a read-only disk), so nothing was written; check the disk and retry.' },
  E_HOST_SHUTTING_DOWN: { status: 503, message: 'The host is shutting down; retry shortly.' },
  E_PLUGIN_UNKNOWN: { status: 500, message: 'A plugin requires another plugin that is not loaded.' },
  E_PLUGIN_CYCLE: { status: 500, message: 'Plugins require each other in a cycle.' },
  E_PROFILE_UNKNOWN: { status: 400, message: 'Unknown profile; use appliance, control-plane or all.' },
  E_HOST_CONFIG_INVALID: { status: 400, message: 'The host configuration is invalid.' },
  E_RUNNER_START_FAILED: { status: 500, message: 'The runner process could not be started.' },
  E_HOST_DATA_IN_USE: { status: 409, message: 'Another host is running on this data folder; stop it first, or start this one with another --data.' },
  E_HOST_LISTEN_FAILED: { status: 500, message: 'The host could not listen on its address; choose another --port or --host.' },

  // Requests
  E_REQUEST_INVALID: { status: 400, message: 'The request is invalid.' },
  E_BODY_TOO_LARGE: { status: 413, message: 'The request body is larger than allowed.' },
  E_REQUEST_MEDIA_TYPE: { status: 415, message: 'The request body is not of a type this endpoint reads; send JSON with content-type: application/json.' },
  E_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time (it arrived too slowly); send it again.' },
  E_REQUEST_HEADERS_TOO_LARGE: { status: 431, message: 'The request headers are larger than allowed.' },
  E_NOT_FOUND: { status: 404, message: 'Not found.' },
  E_INTERNAL: { status: 500, message: 'Something went wrong on the host; the request id identifies it in the logs.' },

  // Auth
  E_AUTH_REQUIRED: { status: 401, message: 'Sign in or send a valid API token.' },
  E_AUTH_FORBIDDEN: { status: 403, message: 'This account or token is not allowed to do that.' },
  E_LOGIN_FAILED: { status: 401, message: 'The user name or password is wrong.' },
  E_CROSS_SITE_REQUEST: { status: 403, message: 'This request was sent by a page of another site; sign-in and setup take it only from the host\'s own pages (or from a client that sends no browser origin headers, such as curl).' },
  E_USER_EXISTS: { status: 409, message: 'A user with that name already exists.' },
  E_USER_UNKNOWN: { status: 404, message: 'No such user.' },
  E_TENANT_EXISTS: { status: 409, message: 'A tenant with that id already exists.' },
  E_TENANT_UNKNOWN: { status: 404, message: 'No tenant has that id.' },
  E_TOKEN_UNKNOWN: { status: 404, message: 'No API token has that id.' },
  E_TOKEN_EXPIRY_INVALID: { status: 400, message: 'A token\'s expiry must be an ISO 8601 date in the future, such as 2030-01-31T12:00:00Z.' },
  E_PASSWORD_TOO_SHORT: { status: 400, message: 'The password must have at least 12 characters.' },
  E_PASSWORD_MISSING: { status: 400, message: 'Give the password on standard input or with --password-file FILE, never as an argument.' },
  E_PASSWORD_FILE_UNREADABLE: { status: 400, message: 'The password file cannot be read.' },

  // Registry
  E_REGISTRY_VERSION_CONFLICT: { status: 409, message: 'This extension version is already published with different content; raise "version" in manifest.json, or pack this build as a prerelease of it (`alga-ext pack --prerelease`).' },
  E_REGISTRY_PUBLISHER_MISMATCH: { status: 403, message: 'The publisher token may not publish for the bundle\'s publisher.' },
  E_REGISTRY_EXTENSION_OWNED: { status: 409, message: 'This extension id is already published by another publisher; publish under your own id.' },
  E_REGISTRY_SIGNER_MISMATCH: { status: 400, message: 'The bundle is signed by a key of another publisher than the manifest names.' },
  E_REGISTRY_BUNDLE_TOO_LARGE: { status: 413, message: 'The bundle is larger than this registry accepts (REGISTRY_MAX_BUNDLE_BYTES, 64 MB by default); nothing was stored.' },
  E_REGISTRY_UPLOAD_INVALID: { status: 400, message: 'The upload needs the bundle bytes and its signature file.' },
  E_REGISTRY_NOT_FOUND: { status: 404, message: 'No published extension, version or bundle matches.' },
  E_REGISTRY_UNREACHABLE: { status: 502, message: 'The registry could not be reached; check --registry and that the host is running.' },
  E_TRUST_BUNDLE_MISSING: { status: 503, message: 'The host has no trust bundle, so it cannot verify bundles; trust a publisher key with `alga-host trust add --publisher NAME --public-key KEY` (it applies without a restart), or start the host with SIGNING_TRUST_BUNDLE set.' },

  // Installs
  E_INSTALL_NOT_FOUND: { status: 404, message: 'The extension is not installed for this tenant.' },
  E_INSTALL_EXISTS: { status: 409, message: 'The extension is already installed for this tenant; update the install instead.' },
  E_INSTALL_CHANGED: { status: 409, message: 'The install changed while this update was being checked; retry.' },
  E_INSTALL_CONFIG_INVALID: { status: 400, message: 'The install config does not match the extension\'s config schema.' },
  E_INSTALL_GRANT_INVALID: { status: 400, message: 'A capability grant is not among the capabilities the extension declares.' },
  E_INSTALL_EGRESS_INVALID: { status: 400, message: 'An egress host is not among the hosts the extension declares.' },
  E_INSTALL_LIMITS_INVALID: { status: 400, message: 'A requested limit exceeds the operator\'s ceiling.' },
  E_INSTALL_SECRETS_INVALID: { status: 400, message: 'Install secrets must be an object of string values.' },
  E_INSTALL_CONSENT_REQUIRED: { status: 409, message: 'This version asks for permissions nobody has accepted for this install yet; send grants and egress listing what you accept. Nothing was changed.' },
  E_STORAGE_PURGE_FAILED: { status: 502, message: 'The runner did not confirm that the extension\'s storage was deleted; retry DELETE /api/installs/{extensionId}/storage once the runner is back.' },

  // Gateway
  E_EXT_NOT_FOUND: { status: 404, message: 'No such extension for this tenant: it is not installed for this tenant, or does not exist.' },
  E_EXT_INSTALL_DISABLED: { status: 404, message: 'This tenant\'s install of the extension is disabled; a tenant admin can enable it.' },
  E_EXT_NO_SUCH_PATH: { status: 404, message: 'The extension declares no endpoint for this path (manifest api.endpoints).' },
  E_EXT_METHOD_NOT_ALLOWED: { status: 405, message: 'The extension declares this path, but not for this method; the Allow header lists the methods it declares.' },
  E_EXT_RATE_LIMITED: { status: 429, message: 'The extension\'s request quota for this tenant is used up; retry after the time in Retry-After.' },
  E_EXT_TIMEOUT: { status: 504, message: 'The extension did not answer in time.' },
  E_EXT_FAILED: { status: 500, message: 'The extension failed while handling the request.' },
  E_RUNNER_UNAVAILABLE: { status: 502, message: 'The extension runner is unavailable; try again shortly.' },
  // Gateway: what an extension may answer and who may call it from a browser (docs/host.md, "What the gateway answers")
  E_EXT_CROSS_ORIGIN: { status: 403, message: 'Extension APIs take a browser session only from the host\'s own pages; from another site or app, call them with an API token.' },
  E_EXT_BAD_RESPONSE: { status: 502, message: 'The extension answered something that is not a valid final HTTP response (a status outside 200–599, or a header name or value HTTP cannot carry); it was not passed on.' },
  E_EXT_REDIRECT_REFUSED: { status: 502, message: 'The extension redirected outside its own API; an extension may redirect elsewhere only to origins its manifest lists in api.redirectOrigins.' },
} as const satisfies Record<string, ErrorDefinition>;
