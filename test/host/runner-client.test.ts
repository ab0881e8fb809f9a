import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunnerClient, type ExecuteCall, type RunnerClient } from '../../host/plugins/extensions/gateway/runner-client.ts';
import { ChannelFrame, ChannelFrameReader, channelProtocol, decodeExecuteFrame, encodeChannelFrame } from '../../lib/execute-frame.ts';

/**
 * The host's runner client against a scripted runner on 127.0.0.1: a raw TCP server that takes
 * the channel upgrade and then does what each test says with the frames it gets.
 */
type Received = { connection: number; kind: number; callId: number; envelope: any };
type Script = (frame: Received, reply: (kind: number, envelope: unknown, body?: Buffer) => void, socket: Socket) => void;

async function scriptedRunner(script: Script): Promise<{ url: string; received: Received[]; connections: () => number; close(): Promise<void> }> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const connection = ++connections;
    let upgraded = false;
    let head = Buffer.alloc(0);
    const reader = new ChannelFrameReader(1048576, {
      frame: (kind, callId, payload) => {
        const frame = { connection, kind, callId, envelope: decodeExecuteFrame(payload).envelope };
        received.push(frame);
        script(frame, (replyKind, envelope, body) => socket.write(Buffer.concat(encodeChannelFrame(replyKind as never, callId, envelope, body))), socket);
      },
      oversize: () => {},
      broken: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) return reader.push(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${channelProtocol}\r\n\r\n`);
      if (head.length > end + 4) reader.push(head.subarray(end + 4));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    received,
    connections: () => connections,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const envelope: ExecuteCall['envelope'] = {
  context: { tenant_id: 't', extension_id: 'e', install_id: 'i', version: '1.0.0', content_hash: `sha256:${'a'.repeat(64)}` },
  http: { method: 'GET', path: '/hello', query: '', headers: {} },
};
const install = { config: { a: '1' } };
const callWith = (client: RunnerClient, url: string, timeoutMs: number) => client.call({ baseUrl: url, serviceToken: 'token' }, { envelope, install, body: new Uint8Array(), timeoutMs });
const okAnswer = { status: 200, headers: { 'content-type': 'text/plain' }, execution: { duration_ms: 1 } };

describe('the host\'s runner client', () => {
  const cleanup: Array<() => unknown> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0)) await step();
  });

  it('pings a connection on which a call timed out with nothing coming back, and closes it when no pong comes', async () => {
    let answering = false;
    const runner = await scriptedRunner((frame, reply) => {
      if (answering && frame.kind === ChannelFrame.execute) reply(ChannelFrame.answer, okAnswer, Buffer.from('ok'));
    });
    const client = createRunnerClient({ pongTimeoutMs: 300 });
    cleanup.push(() => client.close(), () => runner.close());

    const patient = callWith(client, runner.url, 30_000); // in flight on the same connection
    await expect(callWith(client, runner.url, 100)).rejects.toMatchObject({ kind: 'timeout' });
    // The silent runner got a ping; no pong, so the connection is closed and the call still on it fails.
    await expect(patient).rejects.toMatchObject({ kind: 'lost' });
    expect(runner.received.filter((frame) => frame.kind === ChannelFrame.ping)).toHaveLength(1);

    answering = true;
    const next = await callWith(client, runner.url, 5000);
    expect(next).toMatchObject({ ok: true, status: 200 });
    expect(runner.connections()).toBe(2);
  });

  it('keeps a connection whose runner answers the ping, though a call on it was slower than its deadline', async () => {
    const runner = await scriptedRunner((frame, reply) => {
      if (frame.kind === ChannelFrame.ping) reply(ChannelFrame.pong, {});
      else if (frame.envelope.http.path === '/hello' && frame.envelope.context.request_id === 'fast') reply(ChannelFrame.answer, okAnswer, Buffer.from('ok'));
    });
    const client = createRunnerClient({ pongTimeoutMs: 300 });
    cleanup.push(() => client.close(), () => runner.close());
    await expect(callWith(client, runner.url, 100)).rejects.toMatchObject({ kind: 'timeout' });
    await new Promise((resolve) => setTimeout(resolve, 600));
    const fast = await client.call({ baseUrl: runner.url, serviceToken: 'token' }, { envelope: { ...envelope, context: { ...envelope.context, request_id: 'fast' } }, install, body: new Uint8Array(), timeoutMs: 5000 });
    expect(fast).toMatchObject({ ok: true, status: 200 });
    expect(runner.connections()).toBe(1);
  });

  it('after a goaway, answers the calls in flight on the old connection and opens a new one for the next call', async () => {
    const held: Array<() => void> = [];
    const runner = await scriptedRunner((frame, reply, socket) => {
      if (frame.kind !== ChannelFrame.execute) return;
      if (frame.connection === 1 && frame.envelope.context.request_id === 'first') {
        held.push(() => reply(ChannelFrame.answer, okAnswer, Buffer.from('late')));
        socket.write(Buffer.concat(encodeChannelFrame(ChannelFrame.goaway, 0, {})));
      } else reply(ChannelFrame.answer, okAnswer, Buffer.from(`on ${frame.connection}`));
    });
    const client = createRunnerClient();
    cleanup.push(() => client.close(), () => runner.close());
    const first = client.call({ baseUrl: runner.url, serviceToken: 'token' }, { envelope: { ...envelope, context: { ...envelope.context, request_id: 'first' } }, install, body: new Uint8Array(), timeoutMs: 5000 });
    while (held.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const second = await callWith(client, runner.url, 5000);
    expect((second as { body: Buffer }).body.toString()).toBe('on 2');
    held[0]();
    expect(((await first) as { body: Buffer }).body.toString()).toBe('late');
    // The new connection got the install's fields again: it is a new connection to the runner.
    expect(runner.received.filter((frame) => frame.kind === ChannelFrame.execute).map((frame) => [frame.connection, frame.envelope.config])).toEqual([[1, { a: '1' }], [2, { a: '1' }]]);
  });
});
