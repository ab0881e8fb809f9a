import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guestDir } from '../support/projects.ts';
import { executeBody, guestJson, startFixture, type RunnerFixture } from './support.ts';

/**
 * An exception or a denied host call in an SDK guest is an answer, not a trap: a 500 in the one
 * error shape with a catalog code, the cause in the execution record and the debug stream (with
 * the stack mapped to the guest's TypeScript), and the instance and its module state kept.
 */
describe('runner: failures of an SDK guest', () => {
  let fixture: RunnerFixture;
  let hash: string;
  /** The guest's module-level count after the last `/count` call (the tests below run in order on one instance). */
  let lastCount = 0;
  const events: Array<{ request: string; stream: string; level: string; message: string }> = [];

  beforeAll(async () => {
    fixture = await startFixture({ workers: 1 });
    hash = fixture.publish(guestDir('sdk-failures'));
    fixture.runner.events.on('event', (event) => events.push(event));
  });
  afterAll(() => fixture?.close());

  const call = (path: string, requestId: string, providers = ['alga.storage']) =>
    fixture.execute(executeBody({ hash, path, requestId, providers, extension: 'test.guests.sdk-failures' }));
  const eventsOf = (requestId: string) => events.filter((event) => event.request === requestId);

  it('answers a thrown exception with E_EXT_UNHANDLED, keeps the instance, and maps the stack to src/index.ts', async () => {
    // The count starts where the warm-up left it (it calls `GET /count`); what matters here is that it goes on.
    const { count } = guestJson((await call('/count', 'count-1')).json) as { count: number };
    expect(count).toBeGreaterThanOrEqual(1);
    const thrown = await call('/throw', 'throw-1');
    expect(thrown.status).toBe(200); // the runner ran it; the guest answered
    expect(thrown.json.status).toBe(500);
    expect(thrown.json.headers['alga-extension-error']).toBeUndefined();
    expect(guestJson(thrown.json)).toEqual({ error: { code: 'E_EXT_UNHANDLED', message: expect.stringContaining('execution log') }, request_id: 'throw-1' });
    expect(JSON.stringify(guestJson(thrown.json))).not.toContain('gave up');
    expect(thrown.json.execution.error).toEqual({ code: 'E_EXT_UNHANDLED', message: 'Error: the handler gave up: on purpose' });

    const stack = eventsOf('throw-1').find((event) => event.stream === 'stderr')?.message ?? '';
    expect(stack).toContain('E_EXT_UNHANDLED in GET /throw (request throw-1): Error: the handler gave up: on purpose');
    expect(stack).toContain('at giveUp (src/index.ts:11:9)');
    expect(stack).not.toContain('extension.js');
    expect(eventsOf('throw-1')).toContainEqual(expect.objectContaining({ stream: 'log', level: 'error', message: 'E_EXT_UNHANDLED: Error: the handler gave up: on purpose' }));

    // The same instance answers next, its module state intact (a trap would have started a fresh one at 1).
    expect(guestJson((await call('/count', 'count-2')).json)).toEqual({ count: count + 1 });
    lastCount = count + 1;
  });

  it('answers a denied host call with E_EXT_HOST_DENIED and the denial as its cause', async () => {
    const denied = await call('/denied', 'denied-1', []);
    expect(denied.json.status).toBe(500);
    expect(guestJson(denied.json).error.code).toBe('E_EXT_HOST_DENIED');
    expect(denied.json.execution.error).toEqual({ code: 'E_EXT_HOST_DENIED', message: 'HostDeniedError: storage.get: The install was not granted alga.storage.' });
    expect(denied.json.execution.denials).toEqual([{ capability: 'alga.storage', reason: 'The install was not granted alga.storage.' }]);
    expect(eventsOf('denied-1').map((event) => event.message)).toContain('denied alga.storage: The install was not granted alga.storage.');
    expect(guestJson((await call('/count', 'count-3')).json)).toEqual({ count: lastCount + 1 });
  });

  it('answers an HttpError with its own status and code, and no failure in the record', async () => {
    const refused = await call('/refused', 'refused-1');
    expect(refused.json.status).toBe(409);
    expect(guestJson(refused.json)).toEqual({ error: { code: 'E_ITEM_EXISTS', message: 'Already there.' }, request_id: 'refused-1' });
    expect(refused.json.execution.error).toBeUndefined();
    const unknown = await call('/nope', 'nope-1');
    expect(unknown.json.status).toBe(404);
    expect(guestJson(unknown.json).error.code).toBe('E_EXT_ROUTE_NOT_FOUND');
  });
});
