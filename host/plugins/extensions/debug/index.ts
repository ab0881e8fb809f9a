import type { ExtensionsSubModule } from '../api.ts';
import { installedUiSource } from '../ui/installs-source.ts';
import { registerDebugStream } from './stream-route.ts';

export { registerDebugStream } from './stream-route.ts';

/** The extensions plugin's debug sub-module: `GET /api/ext-debug/stream` (see stream-route.ts). */
const debugSubModule: ExtensionsSubModule = (host, extensions) =>
  registerDebugStream(host.routes, { host, installs: installedUiSource(extensions) });

export default debugSubModule;
