import type { ExtensionsSubModule } from '../api.ts';
import { registerConsole } from './routes.ts';

export { registerConsole } from './routes.ts';

/** The extensions plugin's console sub-module: the tenant admin's pages (see routes.ts). */
const consoleSubModule: ExtensionsSubModule = (host, extensions) => registerConsole(host.routes, { host, extensions });

export default consoleSubModule;
