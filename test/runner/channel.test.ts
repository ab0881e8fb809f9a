import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChannelFrame, ChannelFrameReader, channelPath, channelProtocol, decodeExecuteFrame, encodeChannelFrame } from '../../lib/execute-frame.ts';
import { createRunnerClient, type ExecuteCall } from '../../host/plugins/extensions/gateway/runner-client.ts';
import { guestDir } from '../support/projects.ts';
import { executeBody, startFixture, type RunnerFixture } from './support.ts';

type Frame = { kind: number; callId: number; envelope: any; body: Buffer };

/** A raw channel connection: the upgrade written by hand, frames in and out as bytes. */
class RawChannel {
  readonly frames: Frame[] = [];
  closed = false;
  private waiters: Array<() => void> = [];
  private constructor(readonly socket: Socket) {
    const reader = new ChannelFrameReader(64 * 1048576, {
      frame: (kind, callId, payload) => {
        const { envelope, body } = decodeExecuteFrame(payload);
        this.frames.push({ kind, callId, envelope, body: Buffer.from(body) });
        this.wake();
      },
      oversize: () => {},
      broken: () => socket.destroy(),
    });
    socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  /** Opens a connection and upgrades it; resolves with the channel, or with the refusal's status line and body. */
  static async open(url: string, token: string, path = channelPath): Promise<RawChannel | { status: number; body: string }> {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: Upgrade\r\nUpgrade: ${channelProtocol}\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    const head = await new Promise<Buffer>((resolve) => {
      let received = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
        const end = received.indexOf('\r\n\r\n');
        if (end < 0) return;
        const status = Number(received.subarray(9, 12).toString());
        const length = Number(/content-length: (\d+)/i.exec(received.subarray(0, end).toString())?.[1] ?? 0);
        if (status === 101 || received.length >= end + 4 + length) {
          socket.off('data', onData);
          resolve(received);
        }
      };
      socket.on('data', onData);
    });
    const end = head.indexOf('\r\n\r\n');
    const status = Number(head.subarray(9, 12).toString());
    if (status !== 101) {
      socket.destroy();
      return { status, body: head.subarray(end + 4).toString() };
    }
    const channel = new RawChannel(socket);
    if (head.length > end + 4) socket.emit('data', head.subarray(end + 4));
    return channel;
  }

  send(bytes: Buffer | Buffer[]): void {
    this.socket.write(Buffer.concat(Array.isArray(bytes) ? bytes : [bytes]));
  }

  execute(callId: number, envelope: unknown, body = Buffer.alloc(0)): void {
    this.send(encodeChannelFrame(ChannelFrame.execute, callId, envelope, body));
  }

  /** Waits until `count` frames arrived (or the connection closed). */
  async waitFor(count: number): Promise<Frame[]> {
    while (this.frames.length < count && !this.closed) await new Promise<void>((resolve) => this.waiters.push(resolve));
    return this.frames;
  }

  frameFor(callId: number): Frame | undefined {
    return this.frames.find((frame) => frame.callId === callId);
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }
}

const envelopeFor = (options: Parameters<typeof executeBody>[0]) => {
  const body = executeBody(options) as { http: Record<string, unknown> };
  delete body.http.body_b64;
  return body;
};

describe('runner: the execute channel', () => {
  let fixture: RunnerFixture;
  let misbehave: string;
  const opened: RawChannel[] = [];
  const open = async (token = fixture.token, path?: string) => {
    const channel = await RawChannel.open(fixture.url, token, path);
    if (channel instanceof RawChannel) opened.push(channel);
    return channel;
  };
  const openChannel = async () => {
    const channel = await open();
    if (!(channel instanceof RawChannel)) throw new Error(`upgrade refused: ${channel.status} ${channel.body}`);
    return channel;
  };
  const channelConnections = async () => Number(/^runner_channel_connections (\d+)/m.exec(await (await fetch(`${fixture.url}/metrics`)).text())?.[1]);

  beforeAll(async () => {
    fixture = await startFixture({ limits: { maxRequestBytes: 256 * 1024 } });
    misbehave = fixture.publish(guestDir('misbehave'));
  });
  let closed = false;
  afterAll(async () => {
    for (const channel of opened) channel.socket.destroy();
    if (!closed) await fixture?.close();
  });

  it('refuses an upgrade without the service token, and an upgrade to anything else, with a catalog error and no channel', async () => {
    const wrong = await open('not-the-token');
    expect(wrong).toMatchObject({ status: 401 });
    expect(JSON.parse((wrong as { body: string }).body)).toEqual({ error: { code: 'E_RUNNER_UNAUTHORIZED', message: expect.any(String) } });
    const elsewhere = await open(fixture.token, '/v1/execute');
    expect(elsewhere).toMatchObject({ status: 400 });
    expect(JSON.parse((elsewhere as { body: string }).body).error.code).toBe('E_RUNNER_BAD_REQUEST');
  });

  it('answers many calls in flight on one connection, each under its own call id, in any order', async () => {
    const channel = await openChannel();
    channel.execute(100, envelopeFor({ hash: misbehave, path: '/hello' })); // loads the bundle first
    await channel.waitFor(1);
    channel.frames.length = 0;
    const calls = 30; // within the runner's 32 calls in flight per tenant
    for (let callId = 1; callId <= calls; callId++) {
      channel.execute(callId, envelopeFor({ hash: misbehave, path: '/echo', method: 'POST', requestId: `req-many-${callId}` }), Buffer.from(`body of call ${callId}`));
    }
    await channel.waitFor(calls);
    for (let callId = 1; callId <= calls; callId++) {
      const frame = channel.frameFor(callId)!;
      expect({ kind: frame.kind, error: frame.envelope.error }).toEqual({ kind: ChannelFrame.answer, error: undefined });
      expect(frame.envelope).toMatchObject({ status: 200, execution: { request_id: `req-many-${callId}` } });
      expect(frame.body.toString()).toBe(`body of call ${callId}`);
    }
  });

  it('refuses a malformed frame with a failure for its call id, and the connection and the runner go on', async () => {
    const channel = await openChannel();
    const other = await openChannel();
    const valid = envelopeFor({ hash: misbehave, path: '/hello' });
    // A kind no client sends, an execute frame that does not decode, an envelope without context, a frame over the limit.
    const unknownKind = encodeChannelFrame(ChannelFrame.answer, 11, valid);
    const undecodable = Buffer.concat(encodeChannelFrame(ChannelFrame.execute, 12, valid));
    undecodable.writeUInt32BE(99_999, 9); // the envelope length now runs past the frame
    const noContext = encodeChannelFrame(ChannelFrame.execute, 13, { http: { method: 'GET', path: '/hello' } });
    const oversize = encodeChannelFrame(ChannelFrame.execute, 14, valid, Buffer.alloc(256 * 1024 + 1024 * 1024 + 1, 1));
    channel.send([...unknownKind, undecodable, ...noContext, ...oversize]);
    channel.execute(15, valid);
    other.execute(1, valid);
    await channel.waitFor(5);
    expect(channel.frames.map((frame) => [frame.callId, frame.kind, frame.envelope.status, frame.envelope.error?.code]).sort((a, b) => a[0] - b[0])).toEqual([
      [11, ChannelFrame.failure, 400, 'E_RUNNER_BAD_REQUEST'],
      [12, ChannelFrame.failure, 400, 'E_RUNNER_BAD_REQUEST'],
      [13, ChannelFrame.failure, 400, 'E_RUNNER_BAD_REQUEST'],
      [14, ChannelFrame.failure, 413, 'E_RUNNER_REQUEST_TOO_LARGE'],
      [15, ChannelFrame.answer, 200, undefined],
    ]);
    expect(channel.frameFor(13)!.envelope.error.message).toContain('context must be an object');
    expect((await other.waitFor(1))[0]).toMatchObject({ callId: 1, kind: ChannelFrame.answer, envelope: { status: 200 } });

    // A header that cannot be a frame ends that connection only.
    const broken = Buffer.alloc(9);
    broken.writeUInt32BE(2, 0);
    channel.send(broken);
    await channel.waitFor(Infinity);
    expect(channel.closed).toBe(true);
    other.execute(2, valid);
    expect((await other.waitFor(2))[1]).toMatchObject({ callId: 2, kind: ChannelFrame.answer, envelope: { status: 200 } });
    expect((await fetch(`${fixture.url}/healthz`)).status).toBe(200);
  });

  it('answers a ping with a pong under the same call id', async () => {
    const channel = await openChannel();
    channel.send(encodeChannelFrame(ChannelFrame.ping, 77, {}));
    expect((await channel.waitFor(1))[0]).toMatchObject({ kind: ChannelFrame.pong, callId: 77 });
  });

  it('prepares an install once per revision: a call may then leave the install out, and a new revision replaces the old', async () => {
    const channel = await openChannel();
    const install = { hash: misbehave, path: '/config', install: 'install-prepared', requestId: 'req-prepared' };
    const { context, http } = envelopeFor(install) as { context: unknown; http: unknown };
    channel.execute(1, { context, http, install_revision: 'rev-1' });
    channel.execute(2, { ...envelopeFor({ ...install, config: { greeting: 'first' } }), install_revision: 'rev-1' });
    channel.execute(3, { context, http, install_revision: 'rev-1' });
    channel.execute(4, { ...envelopeFor({ ...install, config: { greeting: 'second' } }), install_revision: 'rev-2' });
    channel.execute(5, { context, http, install_revision: 'rev-2' });
    channel.execute(6, { context, http, install_revision: 'rev-1' });
    await channel.waitFor(6);
    const guest = (callId: number) => JSON.parse(channel.frameFor(callId)!.body.toString());
    expect(channel.frameFor(1)!.envelope).toMatchObject({ status: 409, error: { code: 'E_RUNNER_INSTALL_NOT_PREPARED' } });
    expect(guest(2)).toEqual({ greeting: 'first' });
    expect(guest(3)).toEqual({ greeting: 'first' });
    expect(guest(4)).toEqual({ greeting: 'second' });
    expect(guest(5)).toEqual({ greeting: 'second' });
    expect(channel.frameFor(6)!.envelope.error.code).toBe('E_RUNNER_INSTALL_NOT_PREPARED');
  });

  it('through the host\'s client: one connection for many calls, the install sent once, a deadline per call', async () => {
    const client = createRunnerClient();
    const runner = { baseUrl: fixture.url, serviceToken: fixture.token };
    const before = await channelConnections();
    // What reaches the runner: calls that carry the install's fields, and calls that only name its revision.
    const received = { withInstall: 0, revisionOnly: 0 };
    const execute = fixture.runner.execute.bind(fixture.runner);
    fixture.runner.execute = (input: unknown, body?: Uint8Array) => {
      const request = input as { install_revision?: string; config?: unknown };
      if (request.install_revision !== undefined) received[request.config === undefined ? 'revisionOnly' : 'withInstall']++;
      return execute(input, body);
    };
    const { context, http } = envelopeFor({ hash: misbehave, path: '/config', install: 'install-client' }) as unknown as ExecuteCall['envelope'];
    const install = { config: { greeting: 'from the client' }, providers: [], egress: [], limits: {} };
    const answers = await Promise.all(Array.from({ length: 30 }, () => client.call(runner, { envelope: { context, http }, install, body: new Uint8Array(), timeoutMs: 20_000 })));
    for (const answer of answers) {
      expect(answer).toMatchObject({ ok: true, status: 200 });
      expect(JSON.parse((answer as { body: Buffer }).body.toString())).toEqual({ greeting: 'from the client' });
    }
    expect(await channelConnections()).toBe(before + 1);
    expect(received).toEqual({ withInstall: 1, revisionOnly: 29 });

    // A call past its deadline fails alone; the connection serves the next call.
    const loop = envelopeFor({ hash: misbehave, path: '/loop', install: 'install-loop', limits: { timeout_ms: 3000 } }) as unknown as ExecuteCall['envelope'];
    await expect(client.call(runner, { envelope: { context: loop.context, http: loop.http }, install: { limits: { timeout_ms: 3000 } }, body: new Uint8Array(), timeoutMs: 200 })).rejects.toMatchObject({ kind: 'timeout' });
    expect(await client.call(runner, { envelope: { context, http }, install, body: new Uint8Array(), timeoutMs: 20_000 })).toMatchObject({ ok: true, status: 200 });
    expect(await channelConnections()).toBe(before + 1);
    fixture.runner.execute = execute;
    client.close();
  });

  it('when the runner closes: goaway, the calls in flight still answered, new calls refused, then the connection ends (last: it closes the runner)', async () => {
    const channel = await openChannel();
    channel.execute(1, envelopeFor({ hash: misbehave, path: '/loop', limits: { timeout_ms: 1500 }, tenant: 'tenant-closing' }));
    const inFlight = () => fetch(`${fixture.url}/metrics`).then((response) => response.text()).then((text) => Number(/^runner_executions_in_flight (\d+)/m.exec(text)?.[1]));
    while ((await inFlight()) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    closed = true;
    const closing = fixture.close();
    await channel.waitFor(1);
    expect(channel.frames[0]).toMatchObject({ kind: ChannelFrame.goaway, callId: 0 });
    channel.execute(2, envelopeFor({ hash: misbehave, path: '/hello' }));
    await channel.waitFor(3);
    expect(channel.frameFor(2)!.envelope).toMatchObject({ status: 503, error: { code: 'E_RUNNER_SHUTTING_DOWN' } });
    expect(channel.frameFor(1)!.envelope).toMatchObject({ status: 504, error: { code: 'E_RUNNER_DEADLINE' } });
    await channel.waitFor(Infinity);
    expect(channel.closed).toBe(true);
    await closing;
  });
});
