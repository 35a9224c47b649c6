// Fail-fast while Redis stalls: were ioredis auto-pipelining on, a command issued while an earlier
// auto-pipeline waits for its replies is not written (nor is its commandTimeout started) until that
// pipeline settles, so while Redis stalls a request can wait up to twice commandTimeout for its 503.
// A proxy in front of the real Redis stops relaying replies ("a stall"), nothing else of Redis is
// touched. Event order only: the second command must reach the socket before the first times out.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openRedis } from '../src/store/redis/redis-connection.js';

interface StallProxy {
  readonly port: number;
  /** Replies from Redis are dropped from now on. */
  freeze(): void;
  /** Resolves when the client has sent `needle` (a RESP bulk string) since freeze(). */
  seen(needle: string): Promise<void>;
  close(): void;
}

async function stallProxy(): Promise<StallProxy> {
  let frozen = false;
  let sent = '';
  const waiting = new Set<{ needle: string; resolve: () => void }>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(6379, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      if (frozen) {
        sent += chunk.toString('latin1');
        for (const w of [...waiting])
          if (sent.includes(w.needle)) {
            waiting.delete(w);
            w.resolve();
          }
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!frozen) client.write(chunk);
    });
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    freeze() {
      frozen = true;
    },
    seen: (needle) =>
      new Promise((resolve) => {
        if (sent.includes(needle)) resolve();
        else waiting.add({ needle, resolve });
      }),
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe('openRedis while Redis stalls', () => {
  it('writes a command issued during the stall at once, so its commandTimeout runs from its issue', async () => {
    const proxy = await stallProxy();
    cleanups.push(() => {
      proxy.close();
    });
    const client = openRedis(`redis://127.0.0.1:${proxy.port}`, 'review-stall:');
    cleanups.push(() => {
      client.disconnect();
    });
    await client.get('warm-up');

    proxy.freeze();
    const first = client.get('stall-first').then(
      () => 'answered',
      () => 'rejected',
    );
    await proxy.seen('stall-first');
    const second = client.get('stall-second').catch(() => undefined);
    cleanups.push(() => void second);
    // Without auto-pipelining the second GET is on the wire at once; with it, only after the
    // first one's pipeline settled (its 2 s timeout), and its own 2 s start only then.
    const winner = await Promise.race([
      proxy.seen('stall-second').then(() => 'second written'),
      first.then((outcome) => `first ${outcome} before the second was written`),
    ]);
    expect(winner).toBe('second written');
    await second;
  });
});
