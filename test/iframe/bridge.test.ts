import { afterEach, describe, expect, it } from 'vitest';
import { BridgeError, makeEnvelope, type ApiProxyRequest } from '../../sdk/iframe/index.ts';
import { frameWithHost, hostOrigin, runnerOrigin } from './frame-harness.ts';

const bootstrap = {
  tenantId: 'tenant-a',
  extensionId: 'com.example.kv',
  version: '1.0.0',
  contentHash: 'sha256:abc',
  path: '/',
  theme: { primary: '#123456', '--alga-radius': '6px' },
};

let harness: ReturnType<typeof frameWithHost>;
afterEach(async () => harness?.close());

describe('handshake', () => {
  it('posts ready to the parent origin and resolves with the bootstrap, applying the theme', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const ready = bridge.ready();
    const sent = await harness.nextSent(0);
    expect(sent).toMatchObject({ alga: true, version: '1', type: 'ready' });

    harness.deliver(makeEnvelope('bootstrap', bootstrap));
    await expect(ready).resolves.toEqual(bootstrap);
    expect(bridge.bootstrap?.tenantId).toBe('tenant-a');
    const style = harness.frame.document.documentElement.style;
    expect(style.getPropertyValue('--alga-primary')).toBe('#123456');
    expect(style.getPropertyValue('--alga-radius')).toBe('6px');
    bridge.close();
  });

  it('ignores a bootstrap from another origin or another window, then times out', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const ready = bridge.ready();
    await harness.nextSent(0);
    harness.deliver(makeEnvelope('bootstrap', { ...bootstrap, tenantId: 'evil' }), { origin: 'http://evil.test' });
    harness.deliver(makeEnvelope('bootstrap', { ...bootstrap, tenantId: 'evil' }), { origin: runnerOrigin });
    harness.deliver(makeEnvelope('bootstrap', { ...bootstrap, tenantId: 'evil' }), { source: harness.frame });
    harness.deliver(makeEnvelope('bootstrap', { ...bootstrap, tenantId: 'evil' }), { source: null });
    await expect(ready).rejects.toMatchObject({ code: 'E_BRIDGE_TIMEOUT' });
    expect(bridge.bootstrap).toBeNull();
    expect(harness.frame.document.documentElement.style.getPropertyValue('--alga-primary')).toBe('');
    bridge.close();
  });

  it('ignores messages that are not the v1 envelope', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const ready = bridge.ready();
    await harness.nextSent(0);
    harness.deliver({ type: 'bootstrap', payload: bootstrap });
    harness.deliver({ alga: true, version: '2', type: 'bootstrap', payload: bootstrap });
    harness.deliver({ alga: true, version: '1', type: 'unknown', payload: bootstrap });
    harness.deliver('bootstrap');
    await expect(ready).rejects.toMatchObject({ code: 'E_BRIDGE_TIMEOUT' });
    bridge.close();
  });
});

describe('parent origin', () => {
  it('refuses to start without a parent origin to talk to', () => {
    harness = frameWithHost({ query: '' });
    expect(() => harness.makeBridge()).toThrow(BridgeError);
    expect(() => harness.makeBridge()).toThrow(/parentOrigin/);
  });

  it.each(['*', 'null', 'javascript:alert(1)', 'http://host.test/path', 'http://host.test/', 'ftp://host.test'])(
    'refuses the parent origin %s',
    (value) => {
      harness = frameWithHost({ query: `?parentOrigin=${encodeURIComponent(value)}` });
      expect(() => harness.makeBridge()).toThrow(expect.objectContaining({ code: 'E_BRIDGE_PARENT_ORIGIN' }));
    },
  );

  it('never posts to a window at another origin (the message is addressed to the parent origin only)', () => {
    harness = frameWithHost({ parentUrl: 'http://evil.test/' });
    const bridge = harness.makeBridge();
    expect(() => bridge.navigate('/x')).toThrow(/target origin/);
    expect(harness.sent).toHaveLength(0);
    bridge.close();
  });
});

describe('callApi', () => {
  it('sends apiproxy with a request id and resolves with the matching response', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const call = bridge.callApi('/count', { method: 'post', body: { by: 2 } });
    const sent = await harness.nextSent(0);
    expect(sent.type).toBe('apiproxy');
    expect(typeof sent.request_id).toBe('string');
    const request = sent.payload as ApiProxyRequest;
    expect(request.path).toBe('/count');
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(new TextDecoder().decode(request.body!)).toBe('{"by":2}');

    const body = new TextEncoder().encode('{"count":3}');
    harness.deliver(makeEnvelope('apiproxy_response', { status: 201, headers: { 'content-type': 'application/json' }, body }, 'other-id'));
    harness.deliver(makeEnvelope('apiproxy_response', { status: 500, headers: {}, body }, sent.request_id), { origin: 'http://evil.test' });
    harness.deliver(makeEnvelope('apiproxy_response', { status: 201, headers: { 'content-type': 'application/json' }, body }, sent.request_id));
    const response = await call;
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.json()).toEqual({ count: 3 });
    bridge.close();
  });

  it('times out when only a wrong-origin answer arrives', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const call = bridge.callApi('/count', { timeoutMs: 100 });
    const sent = await harness.nextSent(0);
    harness.deliver(makeEnvelope('apiproxy_response', { status: 200, headers: {}, body: new Uint8Array() }, sent.request_id), {
      origin: 'http://evil.test',
    });
    await expect(call).rejects.toMatchObject({ code: 'E_BRIDGE_TIMEOUT' });
    bridge.close();
  });

  it('turns a host-side failure into E_BRIDGE_UNAVAILABLE', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const call = bridge.callApi('/count');
    const sent = await harness.nextSent(0);
    harness.deliver(
      makeEnvelope('apiproxy_response', { status: 0, headers: {}, body: new Uint8Array(), error: { code: 'E_NETWORK', message: 'offline' } }, sent.request_id),
    );
    await expect(call).rejects.toMatchObject({ code: 'E_BRIDGE_UNAVAILABLE', message: 'E_NETWORK: offline' });
    bridge.close();
  });

  it('refuses paths that are not /-relative', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    await expect(bridge.callApi('https://evil.test/x')).rejects.toMatchObject({ code: 'E_BRIDGE_INVALID' });
    await expect(bridge.callApi('//evil.test/x')).rejects.toMatchObject({ code: 'E_BRIDGE_INVALID' });
    expect(harness.sent).toHaveLength(0);
    bridge.close();
  });

  it('fails pending calls when the bridge closes', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const call = bridge.callApi('/slow');
    await harness.nextSent(0);
    bridge.close();
    await expect(call).rejects.toMatchObject({ code: 'E_BRIDGE_CLOSED' });
  });
});

describe('theme, navigate, resize', () => {
  it('applies theme_tokens pushed later and tells listeners, skipping unsafe tokens', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const seen: unknown[] = [];
    bridge.onThemeTokens((tokens) => seen.push(tokens));
    const tokens = { background: '#fff', 'bad name': 'red', injected: 'red; color: blue', image: 'url(http://evil.test/x)' };
    harness.deliver(makeEnvelope('theme_tokens', tokens));
    harness.deliver(makeEnvelope('theme_tokens', { background: '#000' }), { origin: 'http://evil.test' });
    const style = harness.frame.document.documentElement.style;
    expect(style.getPropertyValue('--alga-background')).toBe('#fff');
    expect(style.getPropertyValue('--alga-injected')).toBe('');
    expect(style.getPropertyValue('--alga-image')).toBe('');
    expect(seen).toEqual([tokens]);
    bridge.close();
  });

  it('posts navigate and resize requests', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    bridge.navigate('/settings');
    bridge.resize(420.2);
    expect(await harness.nextSent(0)).toMatchObject({ type: 'navigate', payload: { path: '/settings' } });
    expect(await harness.nextSent(1)).toMatchObject({ type: 'resize', payload: { height: 421 } });
    expect(() => bridge.navigate('https://evil.test')).toThrow(expect.objectContaining({ code: 'E_BRIDGE_INVALID' }));
    bridge.close();
  });
});

describe('origin of messages the host sends', () => {
  it('accepts only the exact origin named by the host (scheme, host and port)', async () => {
    harness = frameWithHost();
    const bridge = harness.makeBridge();
    const ready = bridge.ready();
    await harness.nextSent(0);
    harness.deliver(makeEnvelope('bootstrap', bootstrap), { origin: 'https://host.test' });
    harness.deliver(makeEnvelope('bootstrap', bootstrap), { origin: 'http://host.test:8080' });
    harness.deliver(makeEnvelope('bootstrap', bootstrap), { origin: hostOrigin });
    await expect(ready).resolves.toMatchObject({ tenantId: 'tenant-a' });
    bridge.close();
  });
});
