import type { Socket } from 'node:net';

/** Queued bytes up to which the frames of one turn of the event loop are joined into one write. */
const joinBelow = 256 * 1024;

/**
 * Writes frames to a socket at the end of the current turn of the event loop, all that were
 * queued in that turn together: one system call (and, on loopback, one wake-up of the reader)
 * for many calls in flight, instead of one per call.
 */
export class FrameWriter {
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private scheduled = false;

  constructor(
    private readonly socket: Socket,
    /** Above this many bytes waiting (queued or in the socket's buffer), `full` is true. */
    private readonly highWaterBytes = 8 * 1048576,
  ) {}

  /** Queues a frame's chunks. */
  write(chunks: Buffer[]): void {
    for (const chunk of chunks) {
      this.queue.push(chunk);
      this.queuedBytes += chunk.length;
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** The peer is not reading fast enough: stop producing frames until the socket drains. */
  get full(): boolean {
    return this.queuedBytes + this.socket.writableLength > this.highWaterBytes;
  }

  readonly flush = (): void => {
    this.scheduled = false;
    const queue = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    if (queue.length === 0 || this.socket.destroyed) return;
    if (queue.length === 1) this.socket.write(queue[0]);
    else if (bytes <= joinBelow) this.socket.write(Buffer.concat(queue, bytes));
    else {
      this.socket.cork();
      for (const chunk of queue) this.socket.write(chunk);
      this.socket.uncork();
    }
  };
}
