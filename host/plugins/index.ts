import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { HostProfile } from '../core/config.ts';
import type { HostPlugin } from '../core/plugin.ts';

/** Every first-party plugin: its module (default export: HostPlugin), relative to this folder. */
export const pluginModules = {
  extensions: './extensions/index.ts',
  setup: './setup/index.ts',
  appliance: './appliance/index.ts',
  license: './license/index.ts',
} as const;

export type PluginName = keyof typeof pluginModules;

export const profilePlugins: Record<HostProfile, readonly PluginName[]> = {
  appliance: ['extensions', 'setup', 'appliance'],
  'control-plane': ['license'],
  all: ['extensions', 'setup', 'appliance', 'license'],
};

/** Imports the profile's plugins. A plugin whose module is not in this checkout is reported and left out. */
export async function loadProfilePlugins(profile: HostProfile, warn: (line: string) => void = () => {}): Promise<HostPlugin[]> {
  const plugins: HostPlugin[] = [];
  for (const name of profilePlugins[profile]) {
    const url = new URL(pluginModules[name], import.meta.url);
    if (!existsSync(fileURLToPath(url))) {
      warn(`plugin "${name}" is not present in this build; profile "${profile}" runs without it`);
      continue;
    }
    const module = (await import(url.href)) as { default: HostPlugin };
    plugins.push(module.default);
  }
  return plugins;
}
