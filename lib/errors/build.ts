import type { ErrorDefinition } from './index.ts';

/** `alga-ext init` and `alga-ext build` errors, and the command-line errors of `alga-ext` and `alga-host`. */
export const buildErrors = {
  E_BUILD_SOURCE_ERROR: { status: 400, message: 'The extension source does not compile.' },
  E_BUILD_TYPE_ERROR: { status: 400, message: 'The extension has type errors (`alga-ext build --no-check` builds anyway).' },
  E_BUILD_COMPONENTIZE_FAILED: { status: 500, message: 'componentize-js could not build the component.' },
  E_BUILD_NO_PROJECT: { status: 400, message: 'No extension project here (manifest.json not found).' },
  E_BUILD_NO_ENTRY: { status: 400, message: 'The extension entry module does not exist.' },
  E_BUILD_UI_LINK: { status: 400, message: 'The ui/ folder contains a symbolic link; bundles hold regular files only.' },
  E_BUILD_NOT_REPRODUCIBLE: { status: 400, message: 'Rebuilding from source did not give the bundle\'s component.wasm.' },
  E_VERIFY_BUILD_NO_PROVENANCE: { status: 400, message: 'The bundle has no provenance.json (it was packed without an `alga-ext build` record); nothing to rebuild against.' },
  E_VERIFY_BUILD_NO_SOURCE: { status: 400, message: 'No source to rebuild from: give SOURCE_DIR, or a bundle packed with --with-source.' },
  E_INIT_TARGET_EXISTS: { status: 400, message: 'The target folder already exists and is not empty.' },
  E_INIT_UNKNOWN_TEMPLATE: { status: 400, message: 'Unknown template.' },
  E_INIT_INVALID_NAME: { status: 400, message: 'The extension name is not valid.' },
  E_CLI_USAGE: { status: 400, message: 'The command line is not valid.' },
  E_CLI_UNEXPECTED: { status: 500, message: 'The command failed unexpectedly (set ALGA_DEBUG=1 to see where).' },
} as const satisfies Record<string, ErrorDefinition>;
