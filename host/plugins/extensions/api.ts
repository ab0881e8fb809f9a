import type { FastifyRequest } from 'fastify';
import type { RebuildChecks } from './registry/rebuild-checks.ts';
import type { BundleBlobs } from '../../../lib/bundle/index.ts';
import type { HostContext } from '../../core/plugin.ts';
import type { ExecutionLog } from './gateway/execution-log.ts';
import type { TrustBundle } from '../../../lib/signing/index.ts';
import type { InstallActions } from './installs/install-actions.ts';
import type { InstallStore } from './installs/install-store.ts';
import type { InstallService } from './installs/installs.ts';
import type { RegistryStore } from './registry/registry-store.ts';

/**
 * What the extensions plugin offers its sub-modules (`ui/`, `debug/`) and plugins that require it
 * (`host.plugins.get<ExtensionsApi>('extensions')`).
 */
export interface ExtensionsApi {
  registry: RegistryStore;
  rebuildChecks: RebuildChecks;
  installs: InstallStore;
  installService: InstallService;
  /** Install changes with their audit entries and events (what the API and the console both use). */
  installActions: InstallActions;
  executions: ExecutionLog;
  /** The trust bundle publish and install verify against; throws E_TRUST_BUNDLE_MISSING without one. */
  trust: () => TrustBundle;
  /** `<data>/bundles`: the content-addressed blob folder (a fleet node's cache of `blobs`). */
  blobDir: string;
  /** Bundle bytes and signature files by content hash: the folder, or the fleet's shared store. */
  blobs: BundleBlobs;
  /** The tenant a request acts for (session/token; admins may add ?tenantId=). Throws 401/403. */
  tenantOf(request: FastifyRequest): string;
}

/**
 * A sub-module of the extensions plugin (`./ui/index.ts`, `./debug/index.ts`, `./console/index.ts`) default-exports this.
 * It runs in its own encapsulated fastify context (`host.routes`), at the root prefix.
 */
export type ExtensionsSubModule = (host: HostContext, extensions: ExtensionsApi) => void | Promise<void>;
