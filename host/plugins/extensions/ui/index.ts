import type { ExtensionsSubModule } from '../api.ts';
import { installedUiSource } from './installs-source.ts';
import { registerExtensionUi } from './routes.ts';

export type { InstalledUi, InstalledUiSource } from './installed-ui.ts';
export { registerExtensionUi } from './routes.ts';

/** The extensions plugin's UI sub-module: login, menu and extension pages (see routes.ts). */
const uiSubModule: ExtensionsSubModule = (host, extensions) =>
  registerExtensionUi(host.routes, { host, installs: installedUiSource(extensions) });

export default uiSubModule;
