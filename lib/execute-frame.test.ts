import { describe, expect, it } from 'vitest';
import { isAlgaError } from './errors/index.ts';
import { decodeExecuteFrame, encodeExecuteFrame } from './execute-frame.ts';

describe('execute frames', () => {
  it('carries an envelope and every byte value of a body unchanged', () => {
    const body = Uint8Array.from({ length: 512 }, (_, index) => index % 256);
    const envelope = { context: { tenant_id: 'ten-ñ' }, http: { method: 'POST', path: '/echo' } };
    const decoded = decodeExecuteFrame(Buffer.concat(encodeExecuteFrame(envelope, body)));
    expect(decoded.envelope).toEqual(envelope);
    expect(Buffer.compare(decoded.body, Buffer.from(body))).toBe(0);
  });

  it('carries an empty body', () => {
    const decoded = decodeExecuteFrame(Buffer.concat(encodeExecuteFrame({ status: 204 }, new Uint8Array())));
    expect(decoded).toEqual({ envelope: { status: 204 }, body: Buffer.alloc(0) });
  });

  it('refuses a short frame, a length beyond the frame and an envelope that is not JSON, saying which', () => {
    const lengthPast = Buffer.concat(encodeExecuteFrame({ a: 1 }, new Uint8Array()));
    lengthPast.writeUInt32BE(999, 0);
    const notJson = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x}')]);
    for (const [frame, detail] of [[Buffer.from([0, 0]), /shorter than its 4-byte length prefix/], [lengthPast, /announces 999 bytes of JSON but holds 7/], [notJson, /envelope is not JSON/]] as const) {
      let caught: unknown;
      try {
        decodeExecuteFrame(frame);
      } catch (error) {
        caught = error;
      }
      expect(isAlgaError(caught) && caught.code).toBe('E_RUNNER_BAD_REQUEST');
      expect((caught as Error).message).toMatch(detail);
    }
  });
});
