import type { ErrorDefinition } from './index.ts';

/** Provisioning errors: infra secrets, first-run claim, install codes, licensing. */
export const provisioningErrors = {
  // Infra secrets (init-secrets, start, rotate-key)
  E_SECRET_MISSING: { status: 500, message: 'An infra secret is missing.' },
  E_SECRET_INVALID: { status: 500, message: 'An infra secret is malformed.' },
  E_SECRET_WEAK: { status: 500, message: 'An infra secret is too short or too low in entropy.' },
  E_SECRET_PLACEHOLDER: { status: 500, message: 'An infra secret equals a placeholder value published in the project\'s docs or examples.' },
  E_SECRET_FILE_MODE: { status: 500, message: 'An infra secret file is readable by other users; it must have mode 0600.' },
  E_SECRET_UNREADABLE: { status: 500, message: 'An infra secret file cannot be read by the user running the host.' },
  E_SECRET_DECRYPT_FAILED: { status: 500, message: 'An encrypted value could not be decrypted.' },
  E_SECRET_UNKNOWN_KEY: { status: 500, message: 'An encrypted value names an encryption key id that is not in the keyring.' },
  E_KEY_IN_USE: { status: 409, message: 'The encryption key is still used by stored values and cannot be retired.' },
  E_KEY_ROTATION_INCOMPLETE: { status: 500, message: 'Some encrypted values could not be re-encrypted under the new key.' },
  E_STORE_IN_USE: { status: 409, message: 'The host is running on this data folder; stop it (systemctl stop alga-host) before rotating keys.' },
  E_UNKNOWN_SECRET_KIND: { status: 400, message: 'Unknown secret kind.' },

  // First-run claim (setup plugin)
  E_SETUP_CLAIMED: { status: 410, message: 'This host has already been claimed; setup is closed.' },
  E_SETUP_TOKEN_INVALID: { status: 401, message: 'The setup token is not valid.' },
  E_SETUP_TOKEN_EXPIRED: { status: 401, message: 'The setup token has expired; run `alga-host reset-claim` on the host to mint a new one.' },
  E_SETUP_FORBIDDEN_NETWORK: { status: 403, message: 'Setup is only allowed from the local network.' },
  E_SETUP_RATE_LIMITED: { status: 429, message: 'Too many setup attempts; wait and try again.' },
  E_SETUP_BAD_REQUEST: { status: 400, message: 'The claim request cannot be accepted as it is.' },
  E_SETUP_PASSWORDS_DIFFER: { status: 400, message: 'The two passwords do not match; type the same password in both fields.' },
  E_PASSWORD_WEAK: { status: 400, message: 'The admin password is too weak: use at least 12 characters that are not a common or published example password.' },
  E_PROVISION_FILE_INVALID: { status: 400, message: 'provision.env is invalid.' },
  E_HOST_DATA_MISSING: { status: 400, message: 'The folder holds no host data.' },
  E_PROVIDER_KEY_FILE_UNREADABLE: { status: 400, message: 'The provider key file cannot be read.' },
  E_PROVISION_FILE_MODE: { status: 400, message: 'provision.env is readable by other users; it must have mode 0600.' },

  // Install codes and licensing (license + appliance plugins)
  E_INSTALL_CODE_INVALID: { status: 400, message: 'The install code is not valid. Ask your vendor to re-issue an install code for your tenant.' },
  E_INSTALL_CODE_EXPIRED: { status: 400, message: 'The install code has expired. Ask your vendor to re-issue an install code for your tenant.' },
  E_INSTALL_CODE_CONSUMED: { status: 400, message: 'The install code has already been used. Ask your vendor to re-issue an install code for your tenant.' },
  E_LICENSE_SERVICE_UNREACHABLE: { status: 502, message: 'The license service could not be reached; nothing was changed, try again when it is reachable.' },
  E_LICENSE_SERVICE_URL_MISSING: { status: 503, message: 'ALGA_LICENSE_SERVICE_URL is not set, so an install code cannot be redeemed.' },
  E_LICENSE_SERVICE_ERROR: { status: 502, message: 'The license service gave an unexpected answer; nothing was changed.' },
  E_LICENSE_TOKEN_INVALID: { status: 401, message: 'The license token does not verify.' },
  E_LICENSE_REGISTER_INVALID: { status: 400, message: 'The registration request is invalid.' },
  E_TENANT_NOT_FOUND: { status: 404, message: 'No tenant matches.' },
  E_TENANT_EMAIL_TAKEN: { status: 409, message: 'A tenant is already registered with this contact email, with other details.' },
  E_APPLIANCE_AUTH_REQUIRED: { status: 401, message: 'A valid appliance credential is required.' },
  E_APPLIANCE_REVOKED: { status: 403, message: 'This appliance has been revoked.' },
  E_DOWNLOAD_LINK_INVALID: { status: 403, message: 'The download link is invalid.' },
  E_DOWNLOAD_LINK_EXPIRED: { status: 410, message: 'The download link has expired; ask for a new one.' },
  E_RATE_LIMITED: { status: 429, message: 'Too many requests; wait and try again.' },
} as const satisfies Record<string, ErrorDefinition>;
