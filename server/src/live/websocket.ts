// WebSocket transport on the relay's own port and router: upgrades at /trpc only, an Origin check,
// keep-alive pings, a maximum connection age (clients reconnect with a fresh proof), and a
// reconnect notice to every client on shutdown.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { applyWSSHandler } from '@trpc/server/adapters/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { RequestContext } from '@deaddrop/contract';
import { clientAddress } from '../limits/client-address.js';
import type { Logger } from '../log.js';
import type { RelayRouter } from '../router.js';
import type { RelayServices } from '../services.js';
import { attachConnection } from './connections.js';

export const WS_MAX_AGE_CLOSE_CODE = 4000;
export const WS_SLOW_CONSUMER_CLOSE_CODE = 4008;

export interface WebSocketOptions {
  readonly server: Server;
  readonly services: RelayServices;
  /** The relay's one router, the same every other transport runs. */
  readonly router: RelayRouter;
  readonly log: Logger;
  readonly maxAgeSeconds: number;
  /** Origins allowed to open a WebSocket; `*` allows any. Same-host origins are always allowed. */
  readonly allowedOrigins: readonly string[];
  readonly maxPayloadBytes: number;
}

/**
 * Browsers send an Origin; other clients usually do not. A missing Origin is allowed (proofs, not
 * cookies, authorize), a same-host one is, and any other must be listed.
 */
export function originAllowed(req: IncomingMessage, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined || allowed.includes('*') || allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

export function attachWebSocket(options: WebSocketOptions) {
  const { server, services, router, log } = options;
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes });
  const handler = applyWSSHandler({
    wss,
    router,
    keepAlive: { enabled: true, pingMs: 30_000, pongWaitMs: 10_000 },
    createContext: ({ req, res, info }): RequestContext => {
      const ctx: RequestContext = {
        authorization: info.connectionParams?.authorization,
        apiKey: info.connectionParams?.apiKey ?? headerValue(req.headers['x-deaddrop-api-key']),
        paths: [],
        transport: 'ws',
        clientIp: clientAddress(req, services.trustProxyHops),
      };
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
      });
      return ctx;
    },
  });

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const path = new URL(req.url ?? '/', 'http://relay').pathname;
    if (path !== '/trpc' && path !== '/trpc/') {
      refuse(socket, 404, 'Not Found');
      return;
    }
    if (!originAllowed(req, options.allowedOrigins)) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
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

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
