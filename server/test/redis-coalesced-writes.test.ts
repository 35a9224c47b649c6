// Writes of one event-loop turn leave in one write (coalesced-writes.ts): on a bare socket, and on
// the store's Redis client, its reconnections included. The socket's `_write` / `_writev` (what
// a Writable hands its data to) are spied on the instance: one `_writev` holding every command of
// the turn is one write.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceSocketWrites } from '../src/store/redis/coalesced-writes.js';
import { openRedis } from '../src/store/redis/redis-connection.js';

interface WriteLog {
  /** Chunks per call: `_write` calls as 1, `_writev` calls as their chunk count. */
  readonly calls: { readonly kind: '_write' | '_writev'; readonly chunks: number }[];
}

/** Records how `socket` hands its data to the system, then lets it through unchanged. */
function spyOnWrites(socket: net.Socket): WriteLog {
  const log: WriteLog = { calls: [] };
  const write = socket._write.bind(socket);
  socket._write = (chunk, encoding, callback) => {
    log.calls.push({ kind: '_write', chunks: 1 });
    write(chunk, encoding, callback);
  };
  const writev = socket._writev?.bind(socket);
  if (writev === undefined) throw new Error('net.Socket has no _writev');
  socket._writev = (chunks, callback) => {
    log.calls.push({ kind: '_writev', chunks: chunks.length });
    writev(chunks, callback);
  };
  return log;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A loopback server that collects what one client sends, and a connected client socket. */
async function connectedPair(): Promise<{ socket: net.Socket; received: () => string }> {
  let received = '';
  const server = net.createServer((peer) => {
    peer.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const socket = net.connect(address.port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  cleanups.push(() => {
    socket.destroy();
    server.close();
  });
  return { socket, received: () => received };
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

describe('coalesced socket writes', () => {
  it('sends the writes of one turn in one write, in order, and each later turn again', async () => {
    const { socket, received } = await connectedPair();
    coalesceSocketWrites(socket);
    coalesceSocketWrites(socket); // a second call changes nothing
    const log = spyOnWrites(socket);

    expect(socket.write('one ')).toBe(true);
    socket.write(Buffer.from('two '));
    socket.write('three ', 'utf8', () => undefined);
    expect(log.calls).toEqual([]); // nothing has left before the turn ends
    await nextTurn();
    expect(log.calls).toEqual([{ kind: '_writev', chunks: 3 }]);

    socket.write('four ');
    socket.write('five');
    await nextTurn();
    expect(log.calls.slice(1)).toEqual([{ kind: '_writev', chunks: 2 }]);
    await until(() => received() === 'one two three four five');
  });

  it('is what makes the difference: a plain socket writes the first command at once', async () => {
    const { socket } = await connectedPair();
    const log = spyOnWrites(socket);
    socket.write('one ');
    expect(log.calls).toEqual([{ kind: '_write', chunks: 1 }]);
  });

  it('a socket destroyed before its turn ends drops the held writes without an error', async () => {
    const { socket } = await connectedPair();
    coalesceSocketWrites(socket);
    const errors: unknown[] = [];
    socket.on('error', (error) => errors.push(error));
    socket.write('lost');
    socket.destroy();
    await nextTurn();
    await nextTurn();
    expect(errors).toEqual([]);
  });
});

describe("the Redis store's client", () => {
  it('answers every command of a busy turn, in one write, and again after reconnecting', async () => {
    const client = openRedis(
      'redis://127.0.0.1:6379',
      `coalesce-test-${process.pid}-${Date.now()}:`,
    );
    cleanups.push(() => {
      client.disconnect();
    });
    await client.ping();

    const inOneTurn = async (): Promise<WriteLog> => {
      const log = spyOnWrites(client.stream);
      const keys = Array.from({ length: 300 }, (_, i) => `k${i}`);
      const sets = keys.map((key, i) => client.set(key, String(i), 'PX', 60_000));
      const gets = keys.map((key) => client.get(key));
      expect(await Promise.all(sets)).toEqual(keys.map(() => 'OK'));
      expect(await Promise.all(gets)).toEqual(keys.map((_, i) => String(i)));
      return log;
    };
    expect((await inOneTurn()).calls).toEqual([{ kind: '_writev', chunks: 600 }]);

    const before = client.stream;
    client.disconnect(true);
    await new Promise<void>((resolve) => client.once('ready', resolve));
    expect(client.stream).not.toBe(before);
    expect((await inOneTurn()).calls).toEqual([{ kind: '_writev', chunks: 600 }]);
  });
});
