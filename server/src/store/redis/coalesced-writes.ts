// Commands issued in one event-loop turn leave in one write. The first write of a turn corks the
// client's socket and the turn's check phase (setImmediate) uncorks it, so the appends of all the
// requests read in one turn reach Redis together: Redis reads them in one go and answers them in
// one write, and the relay reads their replies in one go. Measured on the send benchmark: about a
// quarter off both Redis's and the relay's CPU per message (docs/performance.md).
//
// Unlike ioredis's auto-pipelining, no command waits for an earlier batch's replies: each is on
// the wire by the end of the turn that issued it, so its own `commandTimeout` bounds it while
// Redis stalls (server/test/redis-stall-fail-fast.test.ts). One exception, bounded: a command
// issued in a check phase itself (a setImmediate callback, or a continuation of a promise it
// settled) waits for the next turn's check phase, behind that turn's due timers and I/O. No store
// command is issued there today (append's letWokenReadersAnswerFirst issues none after it).
import type { Socket } from 'node:net';
import type { Cluster, Redis } from 'ioredis';

const coalescing = new WeakSet<Socket>();

/** Whether `socket`'s writes are coalesced per turn. */
export function coalescesWrites(socket: Socket): boolean {
  return coalescing.has(socket);
}

/** Makes `socket` send what is written to it in one turn in one write, at the turn's end. */
export function coalesceSocketWrites(socket: Socket): void {
  if (coalescing.has(socket)) return;
  coalescing.add(socket);
  const write = socket.write.bind(socket);
  let corked = false;
  const uncork = (): void => {
    corked = false;
    // A socket destroyed meanwhile drops what it held, as it would have dropped a plain write.
    socket.uncork();
  };
  const coalescedWrite = (...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      socket.cork();
      setImmediate(uncork);
    }
    return Reflect.apply(write, undefined, args) === true;
  };
  // An own property over the prototype's method: only this socket changes. The arguments, in
  // any of `write`'s forms, pass through unchanged.
  socket.write = coalescedWrite;
}

/** Every socket `client` connects with, reconnections included, coalesces its writes per turn. */
export function coalesceWritesPerTurn(client: Redis): void {
  client.on('connect', () => {
    coalesceSocketWrites(client.stream);
  });
}

/** coalesceWritesPerTurn for every node client a cluster client makes. */
export function coalesceClusterWritesPerTurn(cluster: Cluster): void {
  cluster.on('+node', (node: Redis) => {
    coalesceWritesPerTurn(node);
  });
}
