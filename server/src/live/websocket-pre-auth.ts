// What a WebSocket may do before the router has accepted a mailbox proof on it: send a few small
// messages, for a few seconds. Until then it holds relay memory and a slot of its address's cap
// while having proven nothing, so past any bound it is cut off; an accepted proof lifts them all.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';

/** The close code of a socket that proved no mailbox in time (4000–4999: the application's). */
export const WS_AUTH_TIMEOUT_CLOSE_CODE = 4001;

/**
 * Raw bytes a socket may send before it authenticates. Counted on the TCP socket, not per message:
 * `ws` buffers a whole frame, up to maxPayload (megabytes), before it emits any of it. A tRPC
 * connectionParams message with a proof and an access key is about 500 bytes.
 */
export const PRE_AUTH_MAX_BYTES = 16 * 1024;
/** Messages before authentication: connectionParams, the subscription, and room for a few calls. */
export const PRE_AUTH_MAX_MESSAGES = 8;
/** How long a peer that ignores the close frame keeps its socket after the deadline. */
const CLOSE_GRACE_MS = 1_000;

export interface PreAuthBounds {
  readonly timeoutMs: number;
  readonly maxBytes: number;
  readonly maxMessages: number;
}

export interface PreAuthWatch {
  /** The router accepted a proof on this connection: every bound is lifted (idempotent). */
  authenticated(): void;
}

/**
 * Watches a freshly upgraded socket until `authenticated()`. Call it before the socket's messages
 * are handed to tRPC, so that the message past the bound is seen here first.
 */
export function watchUntilAuthenticated(
  ws: WebSocket,
  socket: Duplex,
  bounds: PreAuthBounds,
  cutOff: (reason: string) => void,
): PreAuthWatch {
  let bytes = 0;
  let messages = 0;
  let watching = true;
  const stop = (): void => {
    if (!watching) return;
    watching = false;
    clearTimeout(deadline);
    socket.off('data', onData);
    ws.off('message', onMessage);
  };
  // No close handshake: a peer over its bounds gets no more of the relay's time or memory.
  const terminate = (reason: string): void => {
    if (!watching) return;
    stop();
    cutOff(reason);
    ws.terminate();
  };
  const onData = (chunk: Buffer): void => {
    bytes += chunk.length;
    if (bytes > bounds.maxBytes)
      terminate(`sent more than ${bounds.maxBytes} bytes before authenticating`);
  };
  const onMessage = (): void => {
    messages += 1;
    if (messages > bounds.maxMessages)
      terminate(`sent more than ${bounds.maxMessages} messages before authenticating`);
  };
  const deadline = setTimeout(() => {
    const reason = `not authenticated within ${bounds.timeoutMs} ms`;
    stop();
    cutOff(reason);
    ws.close(WS_AUTH_TIMEOUT_CLOSE_CODE, reason);
    // A peer that reads nothing never answers the close frame either.
    setTimeout(() => {
      ws.terminate();
    }, CLOSE_GRACE_MS).unref();
  }, bounds.timeoutMs);
  deadline.unref();
  // `ws` already listens (it was set up by handleUpgrade), and `head` was pushed back into the
  // socket, so every byte after the upgrade request comes through here too.
  socket.on('data', onData);
  ws.on('message', onMessage);
  ws.once('close', stop);
  return { authenticated: stop };
}
