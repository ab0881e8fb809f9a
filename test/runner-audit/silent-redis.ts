import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP proxy to the real Redis that can go silent on command, like a hung server or a dropped network. */
export interface SilenceableRedis {
  url: string;
  silence(): void;
  close(): void;
}

export async function startSilenceableRedis(): Promise<SilenceableRedis> {
  const sockets: Socket[] = [];
  let silent = false;
  const proxy = createServer((client) => {
    const upstream = connect(6379, '127.0.0.1');
    sockets.push(client, upstream);
    client.on('data', (chunk) => !silent && upstream.write(chunk));
    upstream.on('data', (chunk) => !silent && client.write(chunk));
    client.on('error', () => {});
    upstream.on('error', () => {});
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `redis://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    silence: () => {
      silent = true;
    },
    close: () => {
      for (const socket of sockets) socket.destroy();
      proxy.close();
    },
  };
}
