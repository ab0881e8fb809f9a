import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeExecuteFrame, encodeExecuteFrame, executeFrameType } from '../../lib/execute-frame.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, startFixture, type RunnerFixture } from './support.ts';

/** `POST /v1/execute` in its binary form: envelope + raw body in, and out when asked for. */
describe('runner: execute frames', () => {
  let fixture: RunnerFixture;
  let misbehave: string;

  beforeAll(async () => {
    fixture = await startFixture();
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  afterAll(() => fixture?.close());

  const envelopeFor = (options: Parameters<typeof executeBody>[0]) => {
    const body = executeBody(options) as { http: Record<string, unknown> };
    delete body.http.body_b64;
    return body;
  };

  async function post(frame: Buffer[], accept?: string, token = fixture.token) {
    const response = await fetch(`${fixture.url}/v1/execute`, {
      method: 'POST',
      headers: { 'content-type': executeFrameType, authorization: `Bearer ${token}`, ...(accept ? { accept } : {}) },
      body: Buffer.concat(frame),
    });
    return { status: response.status, type: response.headers.get('content-type') ?? '', bytes: Buffer.from(await response.arrayBuffer()) };
  }

  it('echoes every byte value through the guest and answers in the frame form when asked', async () => {
    const body = Buffer.from(Uint8Array.from({ length: 300_000 }, (_, index) => (index * 7) % 256));
    const answer = await post(encodeExecuteFrame(envelopeFor({ hash: misbehave, path: '/echo', method: 'POST', requestId: 'req-frame-1' }), body), `${executeFrameType}, application/json`);
    expect(answer.status).toBe(200);
    expect(answer.type).toBe(executeFrameType);
    const { envelope, body: echoed } = decodeExecuteFrame(answer.bytes);
    expect(envelope).toMatchObject({ status: 200, headers: { 'content-type': 'application/octet-stream' }, execution: { request_id: 'req-frame-1' } });
    expect(Buffer.compare(echoed, body)).toBe(0);
  });

  it('answers JSON with body_b64 to a frame request that does not ask for a frame', async () => {
    const answer = await post(encodeExecuteFrame(envelopeFor({ hash: misbehave, path: '/echo', method: 'POST' }), Buffer.from('plain bytes')));
    expect(answer.status).toBe(200);
    expect(answer.type).toContain('application/json');
    expect(Buffer.from(JSON.parse(answer.bytes.toString()).body_b64, 'base64').toString()).toBe('plain bytes');
  });

  it('refuses a broken frame, and a frame whose envelope also carries body_b64, with 400 E_RUNNER_BAD_REQUEST in JSON', async () => {
    const [head, body] = encodeExecuteFrame(envelopeFor({ hash: misbehave, path: '/echo', method: 'POST' }), Buffer.from('x'));
    const truncated = Buffer.from(head.subarray(0, head.length - 5));
    const broken = await post([truncated], executeFrameType);
    expect(broken.status).toBe(400);
    expect(JSON.parse(broken.bytes.toString()).error).toMatchObject({ code: 'E_RUNNER_BAD_REQUEST' });
    expect(JSON.parse(broken.bytes.toString()).error.message).toMatch(/announces \d+ bytes of JSON/);

    const both = await post(encodeExecuteFrame(executeBody({ hash: misbehave, path: '/echo', method: 'POST', body: 'twice' }), body), executeFrameType);
    expect(both.status).toBe(400);
    expect(JSON.parse(both.bytes.toString()).error.message).toContain('http.body_b64 must not be set too');
  });

  it('checks the service token before reading a frame', async () => {
    const answer = await post([Buffer.from([0, 0])], executeFrameType, 'not-the-token');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.bytes.toString()).error.code).toBe('E_RUNNER_UNAUTHORIZED');
  });
});
