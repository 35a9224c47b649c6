// A loopback TCP proxy in front of Redis that can swallow the reply to one chosen command and cut
// its connection: the command ran, the client never heard, and ioredis re-sends it on reconnect —
// the blip the idempotency record of every append exists for.
import { createConnection, createServer, type Socket } from 'node:net';

export interface ReplyDroppingProxy {
  /** `redis://127.0.0.1:<port>`, for the relay's REDIS_URL. */
  readonly url: string;
  /**
   * Arms the proxy once: the next command sent with `marker` in it reaches Redis, and the first
   * reply on that connection afterwards is dropped along with the connection (both sides).
   */
  dropReplyTo(marker: string): void;
  /** How many replies were dropped so far. */
  readonly dropped: () => number;
  close(): Promise<void>;
}

export async function startReplyDroppingProxy(target: string): Promise<ReplyDroppingProxy> {
  const { hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let marker: string | undefined;
  let dropped = 0;
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    track(client);
    track(upstream);
    let dropNextReply = false;
    client.on('data', (chunk: Buffer) => {
      if (marker !== undefined && chunk.toString('latin1').includes(marker)) {
        marker = undefined;
        dropNextReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (dropNextReply) {
        dropped += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    client.once('error', () => upstream.destroy());
    upstream.once('error', () => client.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      resolve();
    });
  });
  const address = server.address();
  if (address === null || typeof address !== 'object') throw new Error('proxy has no port');
  return {
    url: `redis://127.0.0.1:${address.port}`,
    dropReplyTo: (text) => {
      marker = text;
    },
    dropped: () => dropped,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
