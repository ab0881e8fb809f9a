// The floor under the call path: what each hop the architecture requires costs on its own, with
// nothing of ours in it but the channel's frame codec, against the guest call measured in the
// same run. A gateway call crosses
// every one of them: the host serves it over HTTP, hands it to the separate runner process, whose
// main thread hands it to a guest worker thread (which can be terminated), and back.
//
//   1. HTTP: a plain fastify route answering JSON, autocannon, 8 connections: CPU per request of
//      the server process.
//   2. Process hop: one kept-open loopback TCP connection between this process and a child,
//      execute and answer frames of a hello call's sizes in the channel's own codec and writer
//      (lib/execute-frame.ts, lib/frame-writer.ts: the frames of one event-loop turn joined into
//      one write), 8 calls in flight: CPU per round trip of both processes.
//   3. Thread hop: the main thread and 2 worker threads, a message of the execute message's shape
//      posted and answered with one of the result's shape, 8 in flight: CPU per round trip of all
//      the threads.
//   4. One call at a time, the thread hop by postMessage against a SharedArrayBuffer with
//      Atomics.notify and Atomics.waitAsync (the same bytes, v8.serialize'd).
//
// Run: node --import tsx bench/hop-floor.ts    BENCH_DURATION_S (5), BENCH_ROUNDS (3)
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';
import { freePort } from '../host/core/runner/free-port.ts';
import { ChannelFrame, ChannelFrameReader, encodeChannelFrameJson } from '../lib/execute-frame.ts';
import { FrameWriter } from '../lib/frame-writer.ts';
import { guestCallCpuMicros } from './guest-floor-run.ts';
import { fmt } from './runner-support.ts';
import { cpuSplit, threadCpu } from './thread-cpu.ts';

const duration = Number(process.env.BENCH_DURATION_S ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const inFlight = 8;

/** The sizes of a hello call's execute frame and answer frame on the channel (measured with lib/execute-frame.ts). */
const requestFrameBytes = 430;
const answerFrameBytes = 350;

/** Shaped like the runner's execute message to a worker and the worker's result (runner/pool/protocol.ts). */
const executeMessage = {
  type: 'execute', jobId: 0, claim: false, instanceKey: `tenant|bench|${'i'.repeat(36)}|${'h'.repeat(64)}:67108864`, policy: 'tenant', recycleAfterRequests: 10_000, recycleAfterMs: 600_000, maxStdioBytes: 65_536, deadlineMs: 5000,
  code: { key: `${'h'.repeat(64)}:67108864`, modulePath: '/tmp/bench/guest.mjs', memoryLimitBytes: 67_108_864, warmUpPaths: ['/hello'] },
  context: { tenantId: 'bench', extensionId: 'com.example.hello', installId: 'i'.repeat(36), requestId: 'r'.repeat(36), version: '1.0.0', contentHash: 'h'.repeat(64), config: [] },
  request: { method: 'GET', path: '/hello', query: '', headers: [['user-agent', 'autocannon'], ['accept', '*/*']], body: new Uint8Array(0) },
};
const resultMessage = { type: 'result', jobId: 0, response: { status: 200, headers: [['content-type', 'application/json']], body: new Uint8Array(48) }, memoryBytes: 16_777_216, freshInstance: false, idle: true };

function child(args: string[]): ChildProcess {
  return spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
}

async function firstLine(started: ChildProcess): Promise<string> {
  const [chunk] = (await once(started.stdout!, 'data')) as [Buffer];
  return chunk.toString().trim();
}

/** CPU (µs) the listed processes used while `run` ran, and what `run` returned. */
async function cpuOf<T>(pids: number[], run: () => Promise<T>): Promise<{ micros: number; result: T }> {
  const before = pids.map((pid) => threadCpu(pid));
  const result = await run();
  const micros = pids.reduce((sum, pid, index) => sum + cpuSplit(pid, before[index], threadCpu(pid)).total, 0);
  return { micros, result };
}

/** 1. A plain fastify route: CPU per request of its process. */
async function httpHop(serverPid: number, url: string): Promise<{ cpu: number; rps: number }> {
  const { micros, result } = await cpuOf([serverPid], (): Promise<{ requests: { total: number; average: number } }> => autocannon({ url, connections: inFlight, duration }));
  return { cpu: micros / result.requests.total, rps: result.requests.average };
}

/** An envelope that makes a channel frame of `frameBytes` in all. */
function envelopeFilling(frameBytes: number): string {
  const overhead = encodeChannelFrameJson(ChannelFrame.execute, 0, '""').reduce((sum, chunk) => sum + chunk.length, 0);
  return JSON.stringify('x'.repeat(frameBytes - overhead));
}

/** Reads channel frames from `socket` and hands each to `frame`; a stream that is not frames throws. */
function readFrames(socket: Socket, frame: (kind: number, callId: number) => void): void {
  const reader = new ChannelFrameReader(1 << 20, {
    frame,
    oversize: (kind) => { throw new Error(`an oversize frame of kind ${kind}`); },
    broken: (reason) => { throw new Error(reason); },
  });
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
}

/** The other end of the process hop (run as `hop-floor.ts frame-server`): answers every execute frame. */
function serveFrames(): void {
  const answer = envelopeFilling(answerFrameBytes);
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    const writer = new FrameWriter(socket);
    readFrames(socket, (_kind, callId) => writer.write(encodeChannelFrameJson(ChannelFrame.answer, callId, answer)));
  });
  server.listen(0, '127.0.0.1', () => console.log((server.address() as AddressInfo).port));
}

/**
 * 2. Execute frames over a kept-open loopback TCP connection to another process, with the
 * channel's own codec and writer: CPU per round trip of both processes.
 */
async function processHop(serverPid: number, port: number): Promise<{ cpu: number; perSecond: number }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const waiting = new Map<number, () => void>();
  readFrames(socket, (_kind, callId) => {
    waiting.get(callId)?.();
    waiting.delete(callId);
  });
  const writer = new FrameWriter(socket);
  const request = envelopeFilling(requestFrameBytes);
  let nextId = 0;
  const call = () =>
    new Promise<void>((resolve) => {
      const callId = nextId++;
      waiting.set(callId, resolve);
      writer.write(encodeChannelFrameJson(ChannelFrame.execute, callId, request));
    });
  const { micros, result: calls } = await cpuOf([process.pid, serverPid], () => callersFor(call));
  socket.destroy();
  return { cpu: micros / calls, perSecond: calls / duration };
}

/** `inFlight` callers, each making one call after another for `duration` seconds; the number of calls made. */
async function callersFor(call: (caller: number) => Promise<void>, callers = inFlight): Promise<number> {
  let calls = 0;
  const until = performance.now() + duration * 1000;
  await Promise.all(Array.from({ length: callers }, async (_, caller) => {
    while (performance.now() < until) {
      await call(caller);
      calls++;
    }
  }));
  return calls;
}

const echoWorkerScript = `
  const { parentPort, workerData } = require('node:worker_threads');
  parentPort.on('message', (message) => parentPort.postMessage({ ...workerData, jobId: message.jobId }));`;

/** 3. postMessage to a worker thread and back: CPU per round trip of every thread of this process. */
async function threadHop(callers: number): Promise<{ cpu: number; perSecond: number }> {
  const workers = [0, 1].map(() => new Worker(echoWorkerScript, { eval: true, workerData: resultMessage }));
  await Promise.all(workers.map((worker) => once(worker, 'online')));
  const waiting = new Map<number, () => void>();
  for (const worker of workers) worker.on('message', (message: { jobId: number }) => {
    waiting.get(message.jobId)?.();
    waiting.delete(message.jobId);
  });
  let nextId = 0;
  const call = (caller: number) =>
    new Promise<void>((resolve) => {
      const jobId = nextId++;
      waiting.set(jobId, resolve);
      workers[caller % workers.length].postMessage({ ...executeMessage, jobId });
    });
  const { micros, result: calls } = await cpuOf([process.pid], () => callersFor(call, callers));
  await Promise.all(workers.map((worker) => worker.terminate()));
  return { cpu: micros / calls, perSecond: calls / duration };
}

const ringWorkerScript = `
  const { workerData } = require('node:worker_threads');
  const { serialize, deserialize } = require('node:v8');
  const cells = new Int32Array(workerData.shared, 0, 4); // 0: calls posted, 1: answers posted, 2: length
  const bytes = new Uint8Array(workerData.shared, 16);
  const answer = workerData.answer;
  let served = 0;
  setInterval(() => {}, 1 << 30); // an Atomics.waitAsync alone keeps no thread alive
  const serve = () => {
    const message = deserialize(bytes.subarray(0, cells[2]));
    const out = serialize({ ...answer, jobId: message.jobId });
    bytes.set(out);
    cells[2] = out.length;
    served++;
    Atomics.store(cells, 1, served);
    Atomics.notify(cells, 1);
    wait();
  };
  const wait = () => {
    const waited = Atomics.waitAsync(cells, 0, served);
    if (waited.async) waited.value.then(serve); else serve();
  };
  wait();`;

/** 4. The same round trip, one call at a time, through a SharedArrayBuffer: Atomics.notify and Atomics.waitAsync on both sides. */
async function threadRing(): Promise<{ cpu: number; perSecond: number }> {
  const { serialize, deserialize } = await import('node:v8');
  const shared = new SharedArrayBuffer(64 * 1024);
  const cells = new Int32Array(shared, 0, 4);
  const bytes = new Uint8Array(shared, 16);
  const worker = new Worker(ringWorkerScript, { eval: true, workerData: { shared, answer: resultMessage } });
  await once(worker, 'online');
  const keepAlive = setInterval(() => {}, 1 << 30);
  let posted = 0;
  const call = async () => {
    const out = serialize({ ...executeMessage, jobId: posted });
    bytes.set(out);
    cells[2] = out.length;
    posted++;
    Atomics.store(cells, 0, posted);
    Atomics.notify(cells, 0);
    // Node 20 has Atomics.waitAsync; TypeScript declares it only from lib es2024.
    const waited = (Atomics as unknown as { waitAsync(cells: Int32Array, index: number, value: number): { async: boolean; value: Promise<string> } }).waitAsync(cells, 1, posted - 1);
    if (waited.async) await waited.value;
    deserialize(bytes.subarray(0, cells[2]));
  };
  const { micros, result: calls } = await cpuOf([process.pid], () => callersFor(call, 1));
  clearInterval(keepAlive);
  await worker.terminate();
  return { cpu: micros / calls, perSecond: calls / duration };
}

async function measureHops(): Promise<void> {
  const processes: ChildProcess[] = [];
  try {
    const plainPort = await freePort();
    const plain = child(['--input-type=module', '-e', `import Fastify from 'fastify';
      const app = Fastify();
      app.get('/hello', async () => ({ message: 'Hello, world', tenant: 'bench' }));
      await app.listen({ port: ${plainPort}, host: '127.0.0.1' });
      console.log('ready');`]);
    processes.push(plain);
    await firstLine(plain);
    const frames = child(['--import', 'tsx', fileURLToPath(import.meta.url), 'frame-server']);
    processes.push(frames);
    const framePort = Number(await firstLine(frames));
    const plainUrl = `http://127.0.0.1:${plainPort}/hello`;
    await autocannon({ url: plainUrl, connections: inFlight, duration: 1 });

    console.log(`hop floor — ${inFlight} in flight, ${duration} s per measure, ${rounds} rounds; CPU per call of every process and thread taking part`);
    const byRound: Array<{ http: number; process: number; thread: number; threadOne: number; ring: number }> = [];
    for (let round = 1; round <= rounds; round++) {
      const http = await httpHop(plain.pid!, plainUrl);
      const hop = await processHop(frames.pid!, framePort);
      const thread = await threadHop(inFlight);
      const threadOne = await threadHop(1);
      const ring = await threadRing();
      byRound.push({ http: http.cpu, process: hop.cpu, thread: thread.cpu, threadOne: threadOne.cpu, ring: ring.cpu });
      console.log(`round ${round}: HTTP (plain fastify) ${fmt(http.cpu, 0)} µs (${fmt(http.rps, 0)} req/s)  process hop ${fmt(hop.cpu, 0)} µs (${fmt(hop.perSecond, 0)}/s)  thread hop ${fmt(thread.cpu, 0)} µs (${fmt(thread.perSecond, 0)}/s)  one at a time: postMessage ${fmt(threadOne.cpu, 0)} µs, SharedArrayBuffer ${fmt(ring.cpu, 0)} µs (${fmt(ring.perSecond, 0)}/s)`);
    }
    const median = (pick: (round: (typeof byRound)[number]) => number) => [...byRound.map(pick)].sort((a, b) => a - b)[Math.floor(byRound.length / 2)];
    const guest = await guestCallCpuMicros();
    const floor = median((round) => round.http) + median((round) => round.process) + median((round) => round.thread);
    console.log(`\nmedians: HTTP ${fmt(median((round) => round.http), 0)} µs + process hop ${fmt(median((round) => round.process), 0)} µs + thread hop ${fmt(median((round) => round.thread), 0)} µs = ${fmt(floor, 0)} µs of CPU per call in the hops alone`);
    console.log(`one at a time, postMessage ${fmt(median((round) => round.threadOne), 0)} µs against a SharedArrayBuffer ${fmt(median((round) => round.ring), 0)} µs = ${fmt(median((round) => round.ring) / median((round) => round.threadOne), 2)}×`);
    console.log(`the hello guest call alone (bench/guest-floor.ts, this run): ${fmt(guest, 1)} µs; the floor is ${fmt(floor / guest, 2)}× it`);
  } finally {
    for (const started of processes) started.kill();
  }
}

if (process.argv[2] === 'frame-server') serveFrames();
else await measureHops();
