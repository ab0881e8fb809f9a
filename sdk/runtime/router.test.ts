import { describe, expect, it, vi } from 'vitest';
import { errorCatalog } from '../../lib/errors/index.ts';
import { failureHeader } from './failure.ts';
import { defineHandler } from './handler.ts';
import { HttpError, json, status, text } from './response.ts';
import { createRouter } from './router.ts';

const decoder = new TextDecoder();

function witContext(config: Array<[string, string]> = []) {
  return {
    tenantId: 'tenant-a',
    extensionId: 'com.example.test',
    installId: 'install-1',
    requestId: 'req-1',
    version: '1.0.0',
    contentHash: 'sha256:' + 'a'.repeat(64),
    config,
  };
}

function witRequest(method: string, path: string, extra: Partial<{ query: string; headers: Array<[string, string]>; body: Uint8Array }> = {}) {
  return { method, path, query: '', headers: [], body: new Uint8Array(0), ...extra };
}

function bodyOf(response: { body: Uint8Array }): unknown {
  return JSON.parse(decoder.decode(response.body));
}

/** The failure header of a 500 answer (stderr silenced). */
function failureOf(answer: () => { status: number; headers: Array<[string, string]> }): string {
  const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
  try {
    const response = answer();
    expect(response.status).toBe(500);
    return response.headers.find(([name]) => name === failureHeader)?.[1] ?? '';
  } finally {
    spy.mockRestore();
  }
}

describe('router and defineHandler', () => {
  const router = createRouter()
    .get('/items/:id', (request) => json({ id: request.params.id }))
    .put('/items/:id', (request) => json({ updated: request.params.id, with: request.json() }))
    .get('/files/*', (request) => text(`file ${request.params['*']}`))
    .post('/echo', (request, context) =>
      json({ body: request.text(), query: request.query, tags: request.queryAll('tag'), agent: request.headers['user-agent'], tenant: context.tenantId, config: context.config }),
    )
    .delete('/items/:id', () => status(204))
    .get('/fail', () => {
      throw new HttpError(409, 'Already there.');
    })
    .get('/crash', () => {
      throw new Error('boom');
    });
  const handler = defineHandler(router);

  it('dispatches by method and path pattern, with params', () => {
    const response = handler.handle(witContext(), witRequest('GET', '/items/7'));
    expect(response.status).toBe(200);
    expect(response.headers).toContainEqual(['content-type', 'application/json; charset=utf-8']);
    expect(bodyOf(response)).toEqual({ id: '7' });
    expect(decoder.decode(handler.handle(witContext(), witRequest('GET', '/files/a/b.txt')).body)).toBe('file a/b.txt');
  });

  it('gives handlers the parsed request and the context with config as an object', () => {
    const response = handler.handle(
      witContext([['greeting_name', 'Ada']]),
      witRequest('post', '/echo', { query: 'q=a%20b&tag=1&tag=2&empty', headers: [['User-Agent', 'test/1']], body: new TextEncoder().encode('hi') }),
    );
    expect(bodyOf(response)).toEqual({ body: 'hi', query: { q: 'a b', tag: '1', empty: '' }, tags: ['1', '2'], agent: 'test/1', tenant: 'tenant-a', config: { greeting_name: 'Ada' } });
  });

  it('answers 404 for an unknown path and 405 with allow for a known path under another method', () => {
    const notFound = handler.handle(witContext(), witRequest('GET', '/nothing'));
    expect(notFound.status).toBe(404);
    expect(bodyOf(notFound)).toEqual({ error: { code: 'E_EXT_ROUTE_NOT_FOUND', message: 'The extension has no route for this path. No route for GET /nothing.' }, request_id: 'req-1' });
    const notAllowed = handler.handle(witContext(), witRequest('POST', '/items/1'));
    expect(notAllowed.status).toBe(405);
    expect(notAllowed.headers).toContainEqual(['allow', 'DELETE, GET, PUT']);
    expect(bodyOf(notAllowed)).toMatchObject({ error: { code: 'E_EXT_ROUTE_METHOD_NOT_ALLOWED' }, request_id: 'req-1' });
  });

  it('serves HEAD from the GET route without a body', () => {
    const response = handler.handle(witContext(), witRequest('HEAD', '/items/3'));
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(0);
  });

  it('turns HttpError into its status and a JSON error, and a body that is not JSON into 400', () => {
    const conflict = handler.handle(witContext(), witRequest('GET', '/fail'));
    expect(conflict.status).toBe(409);
    expect(bodyOf(conflict)).toEqual({ error: { code: 'E_EXT_REQUEST_REFUSED', message: 'Already there.' }, request_id: 'req-1' });
    const badJson = handler.handle(witContext(), witRequest('PUT', '/items/1', { body: new TextEncoder().encode('{nope') }));
    expect(badJson.status).toBe(400);
    expect(bodyOf(badJson)).toMatchObject({ error: { code: 'E_EXT_BODY_NOT_JSON' } });
    const coded = defineHandler(() => {
      throw new HttpError(409, 'Item 7 exists.', { code: 'E_ITEM_EXISTS', headers: { 'retry-after': '1' } });
    }).handle(witContext(), witRequest('POST', '/items'));
    expect(coded.headers).toContainEqual(['retry-after', '1']);
    expect(bodyOf(coded)).toEqual({ error: { code: 'E_ITEM_EXISTS', message: 'Item 7 exists.' }, request_id: 'req-1' });
  });

  it('answers any other exception with a 500 and a catalog code, the cause only in the failure header and on stderr', () => {
    const printed: string[] = [];
    const spy = vi.spyOn(console, 'error').mockImplementation((text: string) => void printed.push(text));
    try {
      const crash = handler.handle(witContext(), witRequest('GET', '/crash'));
      expect(crash.status).toBe(500);
      expect(bodyOf(crash)).toEqual({ error: { code: 'E_EXT_UNHANDLED', message: errorCatalog.E_EXT_UNHANDLED.message }, request_id: 'req-1' });
      expect(decoder.decode(crash.body)).not.toContain('boom');
      expect(crash.headers).toContainEqual([failureHeader, `E_EXT_UNHANDLED ${encodeURIComponent('Error: boom')}`]);
      expect(printed[0]).toMatch(/^E_EXT_UNHANDLED in GET \/crash \(request req-1\): Error: boom\n {4}at /);
    } finally {
      spy.mockRestore();
    }
  });

  it('accepts a plain function and refuses an async one with a clear message', () => {
    const plain = defineHandler((request) => text(`${request.method} ${request.path}`));
    expect(decoder.decode(plain.handle(witContext(), witRequest('GET', '/x')).body)).toBe('GET /x');
    const asyncHandler = defineHandler((async () => json({})) as never);
    expect(failureOf(() => asyncHandler.handle(witContext(), witRequest('GET', '/')))).toMatch(/^E_EXT_INVALID_RESPONSE .*answer%20synchronously/);
  });

  it('names the route when a handler forgets to return a response', () => {
    const forgetful = defineHandler(createRouter().get('/oops', (() => undefined) as never));
    expect(decodeURIComponent(failureOf(() => forgetful.handle(witContext(), witRequest('GET', '/oops'))))).toBe(
      'E_EXT_INVALID_RESPONSE InvalidResponseError: The handler for GET /oops returned nothing; return json(), text(), bytes() or status().',
    );
    const wrongShape = defineHandler((() => ({ ok: true })) as never);
    expect(failureOf(() => wrongShape.handle(witContext(), witRequest('GET', '/x')))).toMatch(/returned%20something%20that%20is%20not%20a%20response/);
  });

  it('builds responses with status, headers and content types', () => {
    expect(json({ a: 1 }, 201).status).toBe(201);
    expect(json({ a: 1 }, { headers: { 'Content-Type': 'application/vnd.x+json' } }).headers).toEqual([['content-type', 'application/vnd.x+json']]);
    expect(status(302, { Location: '/next' })).toEqual({ status: 302, headers: [['location', '/next']], body: new Uint8Array(0) });
    expect(() => status(99)).toThrow(RangeError);
    expect(() => createRouter().get('bad', () => status(200))).toThrow(/must start with/);
  });
});
