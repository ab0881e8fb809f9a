import { connect, type Socket } from 'node:net';

/** A raw HTTP/1.1 exchange: what the server wrote, and whether it closed the connection. */
export class RawClient {
  readonly socket: Socket;
  received = '';
  closed: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(port: number) {
    this.socket = connect(port, '127.0.0.1');
    this.socket.on('data', (data) => {
      this.received += data.toString('latin1');
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => {
      for (const wake of this.waiters.splice(0)) wake();
      resolve();
    }));
  }

  write(text: string | Buffer): boolean {
    return this.socket.writable && this.socket.write(text);
  }

  /** Resolves once `count` complete responses (status line + headers + content-length body) have arrived. */
  async responses(count = 1): Promise<{ status: number; headers: Record<string, string>; body: string }[]> {
    for (;;) {
      const parsed = parseResponses(this.received);
      if (parsed.length >= count || this.socket.destroyed) return parsed;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }
}

export function parseResponses(text: string): { status: number; headers: Record<string, string>; body: string }[] {
  const result = [];
  let rest = text;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const [statusLine, ...lines] = rest.slice(0, end).split('\r\n');
    const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
    const status = Number(statusLine.split(' ')[1]);
    const length = Number(headers['content-length'] ?? 0);
    if (rest.length < end + 4 + length) break;
    result.push({ status, headers, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return result;
}

export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`;
}
