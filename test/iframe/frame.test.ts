import { describe, expect, it } from 'vitest';
import { extensionFrame } from '../../host/web/frame.ts';
import { menuEntries } from '../../host/plugins/extensions/ui/menu.ts';
import { defaultUiOriginTemplate, parseUiOriginTemplate, uiOriginLabel } from '../../lib/ext-ui/origins.ts';
import { mintUiTicket, readUiTicket, uiTicketKey } from '../../lib/ext-ui/tickets.ts';

const hash = `sha256:${'cd'.repeat(32)}`;

describe('extensionFrame', () => {
  const ticket = 'payload.signature';
  it('puts the UI at the install\'s own origin with its ticket, keeps that origin, and names the parent origin', () => {
    const frame = extensionFrame({ uiBase: 'https://0a1b.ext.example.net', hostOrigin: 'https://host.example.com', extensionId: 'com.x.y', contentHash: hash, ticket, entry: 'index.html' });
    expect(frame.src).toBe(`https://0a1b.ext.example.net/ext-ui/com.x.y/${encodeURIComponent(hash)}/${ticket}/index.html?parentOrigin=${encodeURIComponent('https://host.example.com')}`);
    expect(frame.sandbox).toBe('allow-scripts allow-forms allow-same-origin');
    expect(frame.origin).toBe('https://0a1b.ext.example.net');
    const nested = extensionFrame({ uiBase: 'http://0a1b.localhost:9000/runner/', hostOrigin: 'http://127.0.0.1:8080', extensionId: 'com.x.y', contentHash: hash, ticket, entry: 'app/index.html' });
    expect(new URL(nested.src).pathname).toBe(`/runner/ext-ui/com.x.y/${encodeURIComponent(hash)}/${ticket}/app/index.html`);
  });

  it('refuses a UI base on the host\'s own host name (any port): a UI never shares the host\'s cookies', () => {
    for (const uiBase of ['https://host.example.com/runner/', 'http://host.example.com:9000']) {
      expect(() => extensionFrame({ uiBase, hostOrigin: 'https://host.example.com', extensionId: 'com.x.y', contentHash: hash, ticket, entry: 'index.html' })).toThrow(/host names of their own/);
    }
  });

  it.each(['../secret.html', '/index.html', 'a//b.html', './index.html', 'a\\..\\b.html'])('refuses the entry %s', (entry) => {
    expect(() => extensionFrame({ uiBase: 'http://a.localhost:1', hostOrigin: 'http://127.0.0.1:2', extensionId: 'x', contentHash: hash, ticket, entry })).toThrow(/ui\.iframe\.entry/);
  });
});

describe('UI origins and tickets (lib/ext-ui)', () => {
  const install = { tenantId: 'tenant-a', extensionId: 'com.x.y', installId: 'ins_1' };

  it('gives every install its own label: another tenant, extension or install (a reinstall) gets another', () => {
    const label = uiOriginLabel(install);
    expect(label).toMatch(/^[0-9a-f]{32}$/);
    expect(uiOriginLabel(install)).toBe(label);
    expect(new Set([label, uiOriginLabel({ ...install, tenantId: 'tenant-b' }), uiOriginLabel({ ...install, extensionId: 'com.x.z' }), uiOriginLabel({ ...install, installId: 'ins_2' })]).size).toBe(4);
  });

  it('reads origin templates with {ext} as the first label of a host name, and defaults to *.localhost only on loopback', () => {
    const template = parseUiOriginTemplate('https://{ext}.ext.example.com/ui/');
    if (typeof template === 'string') throw new Error(template);
    expect(template.origin('abc')).toBe('https://abc.ext.example.com');
    expect(template.base('abc')).toBe('https://abc.ext.example.com/ui');
    expect(template.hostname('abc')).toBe('abc.ext.example.com');
    for (const bad of ['https://ext.example.com', 'https://x{ext}.example.com', 'https://{ext}.{ext}.example.com', 'https://example.com/{ext}', 'ftp://{ext}.example.com', 'https://{ext}.10.0.0.1', 'https://{ext}.example.com?x=1', 'https://u:p@{ext}.example.com']) {
      expect(typeof parseUiOriginTemplate(bad), bad).toBe('string');
    }
    expect(defaultUiOriginTemplate('http://127.0.0.1:4001')).toBe('http://{ext}.localhost:4001');
    expect(defaultUiOriginTemplate('http://localhost:4001/runner/')).toBe('http://{ext}.localhost:4001/runner');
    expect(defaultUiOriginTemplate('http://[::1]:4001')).toBe('http://{ext}.localhost:4001');
    for (const elsewhere of ['https://runner.example.com', 'http://192.168.1.10:4001', undefined]) expect(defaultUiOriginTemplate(elsewhere)).toBeUndefined();
  });

  it('reads back a ticket only for the extension and content hash it was signed for, and not once it expires', () => {
    const key = uiTicketKey('service token');
    const now = Date.UTC(2030, 0, 1, 12, 0, 0);
    const ticket = mintUiTicket(key, { ...install, contentHash: hash, parentOrigin: 'https://host.example.com' }, now);
    expect(ticket).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const read = readUiTicket(key, ticket, 'com.x.y', hash, now);
    expect(read).toMatchObject({ tenantId: 'tenant-a', installId: 'ins_1', parentOrigin: 'https://host.example.com' });
    const lifetime = (read as { expiresAt: number }).expiresAt * 1000 - now;
    expect(lifetime).toBeGreaterThanOrEqual(6 * 3600_000);
    expect(lifetime).toBeLessThanOrEqual(12 * 3600_000);
    expect(mintUiTicket(key, { ...install, contentHash: hash, parentOrigin: 'https://host.example.com' }, now + 60_000)).toBe(ticket); // cacheable within a window
    expect(readUiTicket(key, ticket, 'com.x.z', hash, now)).toBeUndefined();
    expect(readUiTicket(key, ticket, 'com.x.y', `sha256:${'ef'.repeat(32)}`, now)).toBeUndefined();
    expect(readUiTicket(uiTicketKey('another token'), ticket, 'com.x.y', hash, now)).toBeUndefined();
    const [payload, signature] = ticket.split('.');
    const forged = Buffer.from(JSON.stringify({ t: 'tenant-b', i: 'ins_1', o: 'https://host.example.com', x: 4102444800 })).toString('base64url');
    expect(readUiTicket(key, `${forged}.${signature}`, 'com.x.y', hash, now)).toBeUndefined();
    expect(readUiTicket(key, `${payload}.${signature}.x`, 'com.x.y', hash, now)).toBeUndefined();
    expect(readUiTicket(key, `${payload}.${signature}!`, 'com.x.y', hash, now)).toBeUndefined(); // one spelling per ticket
    expect(readUiTicket(key, ticket, 'com.x.y', hash, now + 12 * 3600_000 + 1)).toBe('expired');
  });
});

describe('menuEntries', () => {
  it('lists menu hooks of installs with a UI, sorted by label, with safe paths only', () => {
    const entries = menuEntries([
      { installId: 'i1', extensionId: 'b.ext', version: '1', contentHash: hash, manifest: { name: 'b.ext', ui: { iframe: { entry: 'i.html' }, hooks: [{ type: 'menu', label: 'Zeta', path: '/z' }, { type: 'tab', label: 'Tab' }] } } },
      { installId: 'i2', extensionId: 'a.ext', version: '1', contentHash: hash, manifest: { name: 'a.ext', ui: { iframe: { entry: 'i.html' }, hooks: [{ type: 'menu', label: 'Alpha', path: '//evil.test' }] } } },
      { installId: 'i3', extensionId: 'c.ext', version: '1', contentHash: hash, manifest: { name: 'c.ext', ui: { hooks: [{ type: 'menu', label: 'No iframe' }] } } },
    ]);
    expect(entries).toEqual([
      { extensionId: 'a.ext', label: 'Alpha', href: '/ext/a.ext' },
      { extensionId: 'b.ext', label: 'Zeta', href: '/ext/b.ext/z' },
    ]);
  });
});
