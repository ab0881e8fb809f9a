import type { ExtensionsSubModule } from '../api.ts';
import { registerDebugStream } from './stream-route.ts';

export { registerDebugStream } from './stream-route.ts';

/**
 * The extensions plugin's debug sub-module: `GET /api/ext-debug/stream` (see stream-route.ts).
 * Any install of the tenant can be watched, enabled or not (an admin may enable it to watch it start).
 */
const debugSubModule: ExtensionsSubModule = (host, extensions) =>
  registerDebugStream(host.routes, { host, installs: { get: (tenantId, extensionId) => extensions.installs.get(tenantId, extensionId) } });

export default debugSubModule;
