import { AlgaError } from '../../lib/errors/index.ts';
import type { HostPlugin } from './plugin.ts';

/** Orders plugins so each comes after everything it requires; refuses unknown requirements and cycles. */
export function orderPlugins(plugins: readonly HostPlugin[]): HostPlugin[] {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
  const ordered: HostPlugin[] = [];
  const state = new Map<string, 'visiting' | 'done'>();

  function visit(plugin: HostPlugin, path: string[]): void {
    const current = state.get(plugin.name);
    if (current === 'done') return;
    if (current === 'visiting') throw new AlgaError('E_PLUGIN_CYCLE', `${[...path, plugin.name].join(' → ')}.`);
    state.set(plugin.name, 'visiting');
    for (const name of plugin.requires ?? []) {
      const required = byName.get(name);
      if (!required) throw new AlgaError('E_PLUGIN_UNKNOWN', `"${plugin.name}" requires "${name}", which this profile does not load.`);
      visit(required, [...path, plugin.name]);
    }
    state.set(plugin.name, 'done');
    ordered.push(plugin);
  }

  for (const plugin of plugins) visit(plugin, []);
  return ordered;
}
