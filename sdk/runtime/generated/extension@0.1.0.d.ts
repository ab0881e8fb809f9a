// Generated from wit/ by scripts/gen-types.ts (jco guest types). Do not edit.
/// <reference path="./interfaces/alga-extension-handler.d.ts" />
/// <reference path="./interfaces/alga-extension-http.d.ts" />
/// <reference path="./interfaces/alga-extension-logging.d.ts" />
/// <reference path="./interfaces/alga-extension-metrics.d.ts" />
/// <reference path="./interfaces/alga-extension-secrets.d.ts" />
/// <reference path="./interfaces/alga-extension-storage.d.ts" />
/// <reference path="./interfaces/alga-extension-types.d.ts" />
/// <reference path="./interfaces/alga-extension-ui-proxy.d.ts" />
declare module 'alga:extension/extension@0.1.0' {
  export type * as AlgaExtensionHttp010 from 'alga:extension/http@0.1.0'; // import alga:extension/http@0.1.0
  export type * as AlgaExtensionLogging010 from 'alga:extension/logging@0.1.0'; // import alga:extension/logging@0.1.0
  export type * as AlgaExtensionMetrics010 from 'alga:extension/metrics@0.1.0'; // import alga:extension/metrics@0.1.0
  export type * as AlgaExtensionSecrets010 from 'alga:extension/secrets@0.1.0'; // import alga:extension/secrets@0.1.0
  export type * as AlgaExtensionStorage010 from 'alga:extension/storage@0.1.0'; // import alga:extension/storage@0.1.0
  export type * as AlgaExtensionTypes010 from 'alga:extension/types@0.1.0'; // import alga:extension/types@0.1.0
  export type * as AlgaExtensionUiProxy010 from 'alga:extension/ui-proxy@0.1.0'; // import alga:extension/ui-proxy@0.1.0
  export * as handler from 'alga:extension/handler@0.1.0'; // export alga:extension/handler@0.1.0
}
