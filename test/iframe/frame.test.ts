import { describe, expect, it } from 'vitest';
import { extensionFrame } from '../../host/web/frame.ts';
import { menuEntries } from '../../host/plugins/extensions/ui/menu.ts';

const hash = `sha256:${'cd'.repeat(32)}`;

describe('extensionFrame', () => {
  it('keeps the runner origin for a runner on another origin, and names the parent origin', () => {
    const frame = extensionFrame({ runnerPublicBase: 'https://ui.example.net', hostOrigin: 'https://host.example.com', extensionId: 'com.x.y', contentHash: hash, entry: 'index.html' });
    expect(frame.src).toBe(`https://ui.example.net/ext-ui/com.x.y/${encodeURIComponent(hash)}/index.html?parentOrigin=${encodeURIComponent('https://host.example.com')}`);
    expect(frame.sandbox).toBe('allow-scripts allow-forms allow-same-origin');
    expect(frame.origin).toBe('https://ui.example.net');
  });

  it('never adds allow-same-origin when the UI would be served from the host origin itself', () => {
    const frame = extensionFrame({ runnerPublicBase: 'https://host.example.com/runner/', hostOrigin: 'https://host.example.com', extensionId: 'com.x.y', contentHash: hash, entry: 'app/index.html' });
    expect(frame.sandbox).toBe('allow-scripts allow-forms');
    expect(frame.origin).toBe('null');
    expect(new URL(frame.src).pathname).toBe(`/runner/ext-ui/com.x.y/${encodeURIComponent(hash)}/app/index.html`);
  });

  it.each(['../secret.html', '/index.html', 'a//b.html', './index.html', 'a\\..\\b.html'])('refuses the entry %s', (entry) => {
    expect(() => extensionFrame({ runnerPublicBase: 'http://127.0.0.1:1', hostOrigin: 'http://127.0.0.1:2', extensionId: 'x', contentHash: hash, entry })).toThrow(/ui\.iframe\.entry/);
  });
});

describe('menuEntries', () => {
  it('lists menu hooks of installs with a UI, sorted by label, with safe paths only', () => {
    const entries = menuEntries([
      { extensionId: 'b.ext', version: '1', contentHash: hash, manifest: { name: 'b.ext', ui: { iframe: { entry: 'i.html' }, hooks: [{ type: 'menu', label: 'Zeta', path: '/z' }, { type: 'tab', label: 'Tab' }] } } },
      { extensionId: 'a.ext', version: '1', contentHash: hash, manifest: { name: 'a.ext', ui: { iframe: { entry: 'i.html' }, hooks: [{ type: 'menu', label: 'Alpha', path: '//evil.test' }] } } },
      { extensionId: 'c.ext', version: '1', contentHash: hash, manifest: { name: 'c.ext', ui: { hooks: [{ type: 'menu', label: 'No iframe' }] } } },
    ]);
    expect(entries).toEqual([
      { extensionId: 'a.ext', label: 'Alpha', href: '/ext/a.ext' },
      { extensionId: 'b.ext', label: 'Zeta', href: '/ext/b.ext/z' },
    ]);
  });
});
