import Fastify, { type FastifyInstance } from 'fastify';
import { Window as DomWindow } from 'happy-dom';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeEnvelope, type ApiProxyResponse, type Envelope } from '../../sdk/iframe/index.ts';
import { connectHostBridge, type HostBridge } from '../../host/web/src/host-bridge.ts';
import { gatewayUrl } from '../../host/web/src/gateway-url.ts';

const runnerOrigin = 'http://127.0.0.1:1';
const bootstrap = { tenantId: 't1', extensionId: 'com.example.kv', version: '1.0.0', contentHash: 'sha256:ab', path: '/', theme: { primary: '#000' } };

/** A real HTTP server standing in for the host's origin; it records what reaches /api/*. */
let server: FastifyInstance;
let hostOrigin: string;
const reached: Array<{ method: string; url: string; body: string; cookie?: string; contentType?: string }> = [];

beforeAll(async () => {
  server = Fastify();
  server.removeAllContentTypeParsers();
  server.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  server.all('/api/*', async (request, reply) => {
    reached.push({ method: request.method, url: request.url, body: String(request.body ?? ''), contentType: request.headers['content-type'] });
    return reply.code(201).header('x-ext', 'yes').send({ count: 7 });
  });
  hostOrigin = await server.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => server.close());

let page: DomWindow;
let bridge: HostBridge;
afterEach(async () => {
  bridge?.close();
  reached.length = 0;
  await page?.happyDOM.close();
});

/** The host page with the extension's iframe; what the bridge posts to the frame is recorded with its target origin. */
function hostPage(extra: { onNavigate?: (path: string) => void } = {}) {
  page = new DomWindow({ url: `${hostOrigin}/ext/com.example.kv`, settings: { enableIframePageLoading: true } });
  const iframe = page.document.createElement('iframe');
  page.document.body.appendChild(iframe);
  const frameWindow = iframe.contentWindow!;
  const toFrame: Array<{ message: Envelope; targetOrigin: string }> = [];
  const waiters: Array<() => void> = [];
  frameWindow.postMessage = ((message: Envelope, targetOrigin: string) => {
    toFrame.push({ message, targetOrigin });
    waiters.splice(0).forEach((wake) => wake());
  }) as typeof frameWindow.postMessage;
  bridge = connectHostBridge({
    window: page as unknown as Window,
    iframe: iframe as unknown as HTMLIFrameElement,
    frameOrigin: runnerOrigin,
    extensionId: 'com.example.kv',
    bootstrap: () => bootstrap,
    onNavigate: extra.onNavigate,
  });
  const fromFrame = (data: unknown, from: { origin?: string; source?: unknown } = {}) =>
    page.dispatchEvent(new page.MessageEvent('message', { data, origin: from.origin ?? runnerOrigin, source: ('source' in from ? from.source : frameWindow) as never }));
  const nextToFrame = async (index: number) => {
    while (toFrame.length <= index) await new Promise<void>((wake) => waiters.push(wake));
    return toFrame[index];
  };
  return { iframe, frameWindow, toFrame, fromFrame, nextToFrame };
}

describe('host bridge', () => {
  it('answers ready with the bootstrap, addressed to the runner origin only', async () => {
    const { fromFrame, nextToFrame } = hostPage();
    fromFrame(makeEnvelope('ready', {}));
    const answer = await nextToFrame(0);
    expect(answer.targetOrigin).toBe(runnerOrigin);
    expect(answer.message).toMatchObject({ alga: true, version: '1', type: 'bootstrap', payload: bootstrap });
  });

  it('ignores messages from another origin or another window', async () => {
    const { fromFrame, toFrame, iframe } = hostPage();
    fromFrame(makeEnvelope('ready', {}), { origin: 'http://evil.test' });
    fromFrame(makeEnvelope('ready', {}), { origin: 'null' });
    fromFrame(makeEnvelope('ready', {}), { source: page });
    fromFrame(makeEnvelope('ready', {}), { source: null });
    fromFrame(makeEnvelope('apiproxy', { path: '/count', method: 'POST', headers: {} }, 'r1'), { origin: 'http://evil.test' });
    fromFrame(makeEnvelope('resize', { height: 900 }), { origin: 'http://evil.test' });
    await new Promise((wake) => setTimeout(wake, 100));
    expect(toFrame).toHaveLength(0);
    expect(reached).toHaveLength(0);
    expect(iframe.style.height).toBe('');
  });

  it("forwards apiproxy to the gateway under the extension's prefix and relays the answer", async () => {
    const { fromFrame, nextToFrame } = hostPage();
    const body = new TextEncoder().encode('{"by":1}');
    fromFrame(makeEnvelope('apiproxy', { path: '/increment?x=1', method: 'POST', headers: { 'content-type': 'application/json', cookie: 'stolen=1' }, body }, 'r1'));
    const answer = await nextToFrame(0);
    expect(answer.message.type).toBe('apiproxy_response');
    expect(answer.message.request_id).toBe('r1');
    const response = answer.message.payload as ApiProxyResponse;
    expect(response.status).toBe(201);
    expect(response.headers['x-ext']).toBe('yes');
    expect(JSON.parse(new TextDecoder().decode(response.body))).toEqual({ count: 7 });
    expect(reached).toEqual([{ method: 'POST', url: '/api/ext/com.example.kv/increment?x=1', body: '{"by":1}', contentType: 'application/json' }]);
  });

  it.each(['/../../api/registry/bundles', '/%2e%2e/other/x', '//evil.test/x', 'count', '/a\\..\\..\\x'])(
    'refuses an apiproxy path that leaves the extension prefix: %s',
    async (path) => {
      const { fromFrame, nextToFrame } = hostPage();
      fromFrame(makeEnvelope('apiproxy', { path, method: 'GET', headers: {} }, 'r2'));
      const answer = await nextToFrame(0);
      const response = answer.message.payload as ApiProxyResponse;
      expect(response.status).toBe(0);
      expect(response.error?.code).toBe('E_BRIDGE_INVALID');
      expect(reached).toHaveLength(0);
    },
  );

  it('clamps resize requests and passes navigation on', async () => {
    const navigated: string[] = [];
    const { fromFrame, iframe } = hostPage({ onNavigate: (path) => navigated.push(path) });
    fromFrame(makeEnvelope('resize', { height: 480.4 }));
    expect(iframe.style.height).toBe('481px');
    fromFrame(makeEnvelope('resize', { height: 1e9 }));
    expect(iframe.style.height).toBe('10000px');
    fromFrame(makeEnvelope('navigate', { path: '/settings' }));
    fromFrame(makeEnvelope('navigate', { path: 'https://evil.test/' }));
    fromFrame(makeEnvelope('navigate', { path: '//evil.test/' }));
    expect(navigated).toEqual(['/settings']);
  });

  it('pushes theme tokens to the frame', async () => {
    const { nextToFrame } = hostPage();
    bridge.sendThemeTokens({ primary: '#fff' });
    expect((await nextToFrame(0)).message).toMatchObject({ type: 'theme_tokens', payload: { primary: '#fff' } });
  });
});

describe('gatewayUrl', () => {
  it('keeps calls under /api/ext/{extensionId}', () => {
    expect(gatewayUrl('http://h.test', 'com.x', '/a/b?c=d')).toBe('http://h.test/api/ext/com.x/a/b?c=d');
    expect(gatewayUrl('http://h.test', 'com.x', '/')).toBe('http://h.test/api/ext/com.x/');
    expect(gatewayUrl('http://h.test', 'com.x', '/a/../b')).toBe('http://h.test/api/ext/com.x/b');
    expect(gatewayUrl('http://h.test', 'com.x', '/..')).toBeNull();
    expect(gatewayUrl('http://h.test', 'com.x', '/..%2f..%2fapi')).toBe('http://h.test/api/ext/com.x/..%2f..%2fapi');
  });
});
