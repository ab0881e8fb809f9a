import { describe, expect, it } from 'vitest';
import { isAlgaError } from './errors/index.ts';
import { ChannelFrame, ChannelFrameReader, decodeExecuteFrame, encodeChannelFrame, encodeExecuteFrame } from './execute-frame.ts';

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

describe('channel frames', () => {
  function reader(maxFrameBytes = 1024) {
    const seen: Array<{ kind: number; callId: number; envelope?: unknown; body?: string; oversize?: number; broken?: string }> = [];
    const frames = new ChannelFrameReader(maxFrameBytes, {
      frame: (kind, callId, payload) => {
        const { envelope, body } = decodeExecuteFrame(payload);
        seen.push({ kind, callId, envelope, body: body.toString() });
      },
      oversize: (kind, callId, bytes) => seen.push({ kind, callId, oversize: bytes }),
      broken: (reason) => seen.push({ kind: 0, callId: 0, broken: reason }),
    });
    return { frames, seen };
  }

  it('cuts a stream into frames however it arrives: byte by byte, or many frames in one chunk', () => {
    const stream = Buffer.concat([
      ...encodeChannelFrame(ChannelFrame.execute, 1, { a: 1 }, Buffer.from('one')),
      ...encodeChannelFrame(ChannelFrame.execute, 0xffffffff, { b: 'ü' }),
      ...encodeChannelFrame(ChannelFrame.answer, 3, { c: [] }, Buffer.alloc(100_000, 'x')),
    ]);
    const expected = [
      { kind: ChannelFrame.execute, callId: 1, envelope: { a: 1 }, body: 'one' },
      { kind: ChannelFrame.execute, callId: 0xffffffff, envelope: { b: 'ü' }, body: '' },
      { kind: ChannelFrame.answer, callId: 3, envelope: { c: [] }, body: 'x'.repeat(100_000) },
    ];
    const whole = reader(1048576);
    whole.frames.push(stream);
    expect(whole.seen).toEqual(expected);
    const trickled = reader(1048576);
    for (let at = 0; at < stream.length; at += at < 200 ? 1 : 7919) trickled.frames.push(stream.subarray(at, at < 200 ? at + 1 : at + 7919));
    expect(trickled.seen).toEqual(expected);
  });

  it('skips a frame above the limit as it arrives, reports it with its call id, and reads the next one', () => {
    const { frames, seen } = reader(1024);
    const big = Buffer.concat(encodeChannelFrame(ChannelFrame.execute, 7, { big: true }, Buffer.alloc(5000, 1)));
    const next = Buffer.concat(encodeChannelFrame(ChannelFrame.execute, 8, { next: true }));
    frames.push(big.subarray(0, 100));
    frames.push(Buffer.concat([big.subarray(100), next]));
    expect(seen).toEqual([
      { kind: ChannelFrame.execute, callId: 7, oversize: big.length - 9 },
      { kind: ChannelFrame.execute, callId: 8, envelope: { next: true }, body: '' },
    ]);
  });

  it('gives up on a header that cannot be a frame', () => {
    const { frames, seen } = reader();
    frames.push(Buffer.from([0, 0, 0, 4, 1, 0, 0, 0, 1]));
    frames.push(Buffer.concat(encodeChannelFrame(ChannelFrame.execute, 2, {})));
    expect(seen).toEqual([{ kind: 0, callId: 0, broken: 'a frame header announces 4 bytes, fewer than its kind and call id' }]);
  });
});
