// WebSocket transport on the relay's own port and router: upgrades at /trpc only, an Origin check,
// a call token and a slot of the address's live-connection cap per upgrade, bounds until a mailbox
// proof is accepted, keep-alive pings, a maximum connection age (clients reconnect with a fresh
// proof), and a reconnect notice to every client on shutdown.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestContext } from '@deaddrop/contract';
import { clientAddress } from '../limits/client-address.js';
import { requestContext } from '../http/request-context.js';
import type { Logger } from '../log.js';
import { RelayFault, retryAfterSeconds } from '../relay-error.js';
import type { RelayRouter } from '../router.js';
import type { RelayServices } from '../services.js';
import { attachConnection } from './connections.js';
import {
  PRE_AUTH_MAX_BYTES,
  PRE_AUTH_MAX_MESSAGES,
  watchUntilAuthenticated,
  type PreAuthWatch,
} from './websocket-pre-auth.js';

const WS_MAX_AGE_CLOSE_CODE = 4000;
const WS_SLOW_CONSUMER_CLOSE_CODE = 4008;

export interface WebSocketOptions {
  readonly server: Server;
  readonly services: RelayServices;
  /** The relay's one router, the same every other transport runs. */
  readonly router: RelayRouter;
  readonly log: Logger;
  readonly maxAgeSeconds: number;
  /** A connection on which no mailbox proof was accepted within this long is closed. */
  readonly authTimeoutMs: number;
  /** Origins allowed to open a WebSocket; `*` allows any. Same-host origins are always allowed. */
  readonly allowedOrigins: readonly string[];
  readonly maxPayloadBytes: number;
}

/**
 * Browsers send an Origin; other clients usually do not. A missing Origin is allowed (proofs, not
 * cookies, authorize), a same-host one is, and any other must be listed.
 */
function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * Answers an upgrade with an HTTP error and closes the socket once the answer is written: the
 * server keeps sockets half-open after `end()`, and a refused peer must not hold one.
 */
function refuse(
  socket: Duplex,
  status: number,
  text: string,
  detail: { readonly body?: string; readonly retryAfterSeconds?: number | undefined } = {},
): void {
  if (socket.destroyed) return;
  const body = detail.body ?? '';
  const lines = [
    `HTTP/1.1 ${status} ${text}`,
    'Connection: close',
    'Content-Type: text/plain; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...(detail.retryAfterSeconds === undefined ? [] : [`Retry-After: ${detail.retryAfterSeconds}`]),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`, () => {
    socket.destroy();
  });
}

export function attachWebSocket(options: WebSocketOptions) {
  const { server, services, router, log } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  // Each connection's watch until its first accepted proof, found again from tRPC's context.
  const watches = new WeakMap<WebSocket, PreAuthWatch>();
  const handler = applyWSSHandler({
    wss,
    router,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 10_000 },
    createContext: ({ req, res, info }): RequestContext => {
      // One context for the connection's life: its proof is verified once, its calls are
      // counted one by one (request-admission.ts).
      const ctx: RequestContext = requestContext(req, services.trustProxyHops, 'ws', [], {
        authorization: info.connectionParams?.authorization,
        apiKey: info.connectionParams?.apiKey,
      });
      attachConnection(ctx, {
        backlogBytes: () => res.bufferedAmount,
        close: (reason) => {
          log.warn('live subscriber disconnected', { transport: 'ws', reason });
          res.close(WS_SLOW_CONSUMER_CLOSE_CODE, reason.slice(0, 120));
          // A peer that reads nothing never sees the close frame either: cut it off soon after.
          setTimeout(() => {
            res.terminate();
          }, 2_000).unref();
        },
        authenticated: () => {
          watches.get(res)?.authenticated();
        },
      });
      return ctx;
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // The HTTP server stops listening for the socket's errors once it is handed over, and `ws`
    // starts only at the handshake: without this, a reset while the upgrade waits for its token
    // would be an uncaught error. A failed socket closes, which releases whatever it held.
    socket.on('error', () => undefined);
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path !== '/trpc' && path !== '/trpc/') {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (!originAllowed(req, options.allowedOrigins)) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    admit(req, socket).then(
      (admitted) => {
        if (admitted) upgrade(req, socket, head);
      },
      (error: unknown) => {
        log.warn('websocket upgrade failed', {
          error: error instanceof Error ? error.message : String(error),
        });
        socket.destroy();
      },
    );
  };

  /**
   * An upgrade is a call (one token from the address's bucket) and takes one of the address's
   * live-connection slots, held until the socket closes, however it closes: a refusal of either is
   * a 429 before anything else is done for the connection.
   */
  const admit = async (req: IncomingMessage, socket: Duplex): Promise<boolean> => {
    const address = clientAddress(req, services.trustProxyHops);
    try {
      await services.limiter.calls(address, 1);
    } catch (error) {
      if (error instanceof RelayFault && error.reason === 'RATE_LIMITED') {
        refuse(socket, 429, 'Too Many Requests', {
          body: error.message,
          retryAfterSeconds: retryAfterSeconds([error]),
        });
      } else {
        // The store could not say (Redis down): as for every other call, try again later.
        refuse(socket, 503, 'Service Unavailable');
      }
      return false;
    }
    // Gone while its token was taken: nothing to hold a slot for.
    if (socket.destroyed) return false;
    const release = services.liveConnections.acquire(address);
    if (release === null) {
      refuse(socket, 429, 'Too Many Requests', {
        body: new RelayFault(
          'TOO_MANY_CONNECTIONS',
          `at most ${services.liveConnections.cap} from one address`,
        ).message,
      });
      return false;
    }
    socket.once('close', release);
    return true;
  };

  const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // On a bad handshake `ws` answers 400 and destroys the socket, which releases its slot.
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      watches.set(
        ws,
        watchUntilAuthenticated(
          ws,
          socket,
          {
            timeoutMs: options.authTimeoutMs,
            maxBytes: PRE_AUTH_MAX_BYTES,
            maxMessages: PRE_AUTH_MAX_MESSAGES,
          },
          (reason) => {
            log.debug('websocket closed before authenticating', { reason });
          },
        ),
      );
      // Past its age a connection's proof is old: close it, and the client re-proves on reconnect.
      const timer = setTimeout(() => {
        ws.close(WS_MAX_AGE_CLOSE_CODE, 'connection max age reached; reconnect with a fresh proof');
      }, options.maxAgeSeconds * 1000);
      timer.unref();
      ws.once('close', () => {
        clearTimeout(timer);
      });
      wss.emit('connection', ws, req);
    });
  };
  server.on('upgrade', onUpgrade);

  return {
    /** Open WebSocket connections. */
    size: () => wss.clients.size,
    /** Drops every connection at once, as a network failure would (clients reconnect). */
    dropAll: (): void => {
      for (const client of wss.clients) client.terminate();
    },
    /** Asks every client to reconnect (elsewhere), then closes the server and its sockets. */
    close: async (): Promise<void> => {
      server.off('upgrade', onUpgrade);
      handler.broadcastReconnectNotification();
      await new Promise<void>((resolve) => {
        setTimeout(() => {
          for (const client of wss.clients) client.terminate();
          wss.close(() => {
            resolve();
          });
        }, 100);
      });
    },
  };
}
