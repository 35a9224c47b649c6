// A loopback TCP proxy in front of a relay or a Redis, so a test can cut every live connection at
// once (as a network blip or a load balancer would) while the server itself keeps running, or let
// one request through and lose its answer: the server did the work, the client never hears of it.
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpProxy {
  /** URL clients use instead of the target's, same scheme, e.g. http://127.0.0.1:43122. */
  readonly url: string;
  /** Connections accepted so far. */
  readonly accepted: () => number;
  /** Destroys every open connection, both sides; new ones are still accepted. */
  dropAll(): void;
  /**
   * Arms the proxy once: the next chunk a client sends that contains `marker` reaches the target,
   * and the first answer on that connection afterwards is dropped along with the connection.
   */
  loseNextAnswer(marker: string): void;
  /** Answers lost so far. */
  readonly lost: () => number;
  close(): Promise<void>;
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { protocol, hostname, port } = new URL(target);
  const open = new Set<Socket>();
  let accepted = 0;
  let armed: string | undefined;
  let lost = 0;
  const track = (socket: Socket): void => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    accepted++;
    const upstream = createConnection({ host: hostname, port: Number(port) });
    track(client);
    track(upstream);
    let doomed = false;
    client.on('data', (chunk: Buffer) => {
      if (armed !== undefined && chunk.toString('latin1').includes(armed)) {
        armed = undefined;
        doomed = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!doomed) {
        client.write(chunk);
        return;
      }
      lost++;
      client.destroy();
      upstream.destroy();
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
    url: `${protocol}//127.0.0.1:${address.port}`,
    accepted: () => accepted,
    dropAll: () => {
      for (const socket of open) socket.destroy();
    },
    loseNextAnswer: (marker) => {
      armed = marker;
    },
    lost: () => lost,
    close: () =>
      new Promise((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => {
          resolve();
        });
      }),
  };
}
