import { afterAll, describe, expect, it } from 'vitest';
import { definePlugin, type HostPlugin } from '../../host/core/plugin.ts';
import { orderPlugins } from '../../host/core/plugin-loader.ts';
import { loadProfilePlugins, profilePlugins } from '../../host/plugins/index.ts';
import { inProcessHost, type InProcessHost } from './host-app.ts';

const plugin = (name: string, requires: string[] = [], register: HostPlugin['register'] = () => {}): HostPlugin => ({ name, version: '1.0.0', requires, register });

describe('plugin runtime', () => {
  it('orders plugins after what they require, and refuses unknown requirements and cycles', () => {
    const ordered = orderPlugins([plugin('appliance', ['setup', 'extensions']), plugin('setup', ['extensions']), plugin('extensions')]);
    expect(ordered.map((p) => p.name)).toEqual(['extensions', 'setup', 'appliance']);
    expect(() => orderPlugins([plugin('appliance', ['license'])])).toThrow(/requires "license"/);
    expect(() => orderPlugins([plugin('a', ['b']), plugin('b', ['a'])])).toThrow(/cycle/);
  });

  it('profiles choose plugins: appliance = extensions + setup + appliance, control-plane = license', async () => {
    expect(profilePlugins.appliance).toEqual(['extensions', 'setup', 'appliance']);
    expect(profilePlugins['control-plane']).toEqual(['license']);
    const loaded = await loadProfilePlugins('appliance');
    expect(loaded.map((p) => p.name)).toContain('extensions');
    for (const p of loaded) expect(typeof p.register).toBe('function');
  });

  describe('encapsulation', () => {
    let h: InProcessHost;
    const calls: string[] = [];
    afterAll(async () => h?.close());

    it('gives each plugin its own prefix and context; decorations do not leak; APIs are shared by expose/get', async () => {
      const first = definePlugin({
        name: 'first', version: '1.0.0', requires: [], prefix: '/first',
        register(host) {
          host.routes.decorate('firstOnly', 42);
          host.routes.get('/ping', async () => ({ from: 'first' }));
          host.plugins.expose({ greet: (name: string) => `hi ${name}` });
          host.store.migrate('first', [{ version: 1, description: 'db', up: (store) => store.db('first.items') }]);
          host.lifecycle.onListening(({ url }) => void calls.push(`listening ${url}`));
          host.lifecycle.onClose(() => void calls.push('closed'));
        },
      });
      const second = definePlugin({
        name: 'second', version: '1.0.0', requires: ['first'], prefix: '/second',
        register(host) {
          const api = host.plugins.get<{ greet(name: string): string }>('first');
          host.routes.get('/ping', async () => ({ from: 'second', sees: host.routes.hasDecorator('firstOnly'), greeting: api?.greet('second') }));
        },
      });
      h = await inProcessHost({ plugins: [second, first] });
      expect((await h.host.app.inject({ url: '/first/ping' })).json()).toEqual({ from: 'first' });
      expect((await h.host.app.inject({ url: '/second/ping' })).json()).toEqual({ from: 'second', sees: false, greeting: 'hi second' });
      expect((await h.host.app.inject({ url: '/ping' })).statusCode).toBe(404);
      expect(h.store.schemaVersion('first')).toBe(1);
      await h.host.listening('http://127.0.0.1:1');
      expect(calls).toEqual(['listening http://127.0.0.1:1']);
      const ready = await h.host.app.inject({ url: '/readyz' });
      expect(ready.json().checks.plugins).toBe(true);
    });
  });
});
