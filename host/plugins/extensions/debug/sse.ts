import type { FastifyReply } from 'fastify';

export interface SseWriter {
  send(event: string, data: unknown, id?: string): void;
  comment(text: string): void;
  end(): void;
  readonly closed: boolean;
}

/** The headers of an event stream (a HEAD on a stream route answers them alone). */
export const sseHeaders = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache, no-store',
  'x-accel-buffering': 'no',
  'x-content-type-options': 'nosniff',
} as const;

/** Takes over the reply and writes Server-Sent Events to it. */
export function openSse(reply: FastifyReply): SseWriter {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { ...sseHeaders, connection: 'keep-alive' });
  let closed = false;
  raw.on('close', () => {
    closed = true;
  });
  return {
    get closed() {
      return closed || raw.writableEnded;
    },
    send(event, data, id) {
      if (this.closed) return;
      const lines = [`event: ${event}`];
      if (id !== undefined) lines.push(`id: ${id.replace(/[\r\n]/g, '')}`);
      for (const line of JSON.stringify(data).split('\n')) lines.push(`data: ${line}`);
      raw.write(`${lines.join('\n')}\n\n`);
    },
    comment(text) {
      if (!this.closed) raw.write(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
    },
    end() {
      if (!this.closed) raw.end();
      closed = true;
    },
  };
}
