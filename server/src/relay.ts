// Starting and stopping one relay process: store, relay id, HTTP server, periodic TTL sweep.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { createAgentDirectory } from './agent-directory.js';
import { createRelayApp, maxBodyBytes } from './app.js';
import type { RelayConfig } from './env.js';
import { createLogger, type Logger } from './log.js';
import { SLOW_CONSUMER_MS } from './handlers/inbox.js';
import { createDispatcher } from './live/dispatcher.js';
import { attachWebSocket } from './live/websocket.js';
import { mailboxAuthFor } from './router.js';
import type { RelayServices } from './services.js';
import { createMailboxStore } from './store/create-store.js';
import type { MailboxStore } from './store/mailbox-store.js';

/**
 * How often expired messages are removed from idle mailboxes (active ones are trimmed on every
 * append, and reads never return expired messages): a tenth of the TTL, between 1 and 15 minutes,
 * so that tens of thousands of idle mailboxes are not swept every minute.
 */
export function sweepIntervalMs(ttlSeconds: number): number {
  return Math.min(Math.max((ttlSeconds * 1000) / 10, 60_000), 15 * 60_000);
}

export interface RunningRelay {
  readonly url: string;
  readonly server: Server;
  readonly services: RelayServices;
  /** Open WebSocket connections. */
  readonly webSockets: () => number;
  /** Open SSE inbox streams. */
  readonly sseStreams: () => number;
  /** Drops every client connection (HTTP, SSE and WebSocket) at once, as a network failure would. */
  dropConnections(): void;
  close(): Promise<void>;
}

export interface StartRelayOptions {
  /** A store to use instead of the one the configuration names (tests). */
  readonly store?: MailboxStore;
  readonly log?: Logger;
  readonly now?: () => number;
  /** How long a live subscriber may accept nothing before it is disconnected (tests shorten it). */
  readonly slowConsumerMs?: number;
  /** Serve send, poll and stats on the lane beside tRPC (default; tests compare it with tRPC's path). */
  readonly procedureLane?: boolean;
}

function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const parsed: unknown = JSON.parse(text);
  return typeof parsed === 'object' &&
    parsed !== null &&
    'version' in parsed &&
    typeof parsed.version === 'string'
    ? parsed.version
    : '0.0.0';
}

export async function startRelay(
  config: RelayConfig,
  options: StartRelayOptions = {},
): Promise<RunningRelay> {
  const log = options.log ?? createLogger();
  const store =
    options.store ??
    (await createMailboxStore({
      redisUrl: config.redisUrl,
      keyPrefix: config.redisKeyPrefix,
      dataDir: config.dataDir,
      ttlSeconds: config.limits.ttlSeconds,
      maxMessages: config.limits.maxMessages,
    }));
  const relayId = config.relayId ?? (await store.ensureRelayId(`relay-${toB64u(randomBytes(12))}`));
  const services: RelayServices = {
    store,
    directory: createAgentDirectory(store),
    dispatcher: createDispatcher(store),
    relayId,
    version: packageVersion(),
    limits: config.limits,
    apiKeys: config.apiKeys,
    now: options.now ?? Date.now,
    slowConsumerMs: options.slowConsumerMs ?? SLOW_CONSUMER_MS,
  };
  const auth = mailboxAuthFor(services);
  const relayApp = createRelayApp(services, auth, log, {
    procedureLane: options.procedureLane ?? true,
  });
  const server = createServer(relayApp.handle);
  const websocket = attachWebSocket({
    server,
    services,
    auth,
    log,
    maxAgeSeconds: config.wsMaxAgeSeconds,
    allowedOrigins: config.allowedOrigins,
    maxPayloadBytes: maxBodyBytes(config.limits.maxMessageBytes),
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sweep = setInterval(() => {
    store.sweepExpired().catch((error: unknown) => {
      log.warn('ttl sweep failed', {
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }, sweepIntervalMs(config.limits.ttlSeconds));
  sweep.unref();

  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${host}:${address.port}`;
  log.info('relay listening', { url, store: store.kind, relayId });

  let closing: Promise<void> | undefined;
  return {
    url,
    server,
    services,
    webSockets: websocket.size,
    sseStreams: relayApp.sseStreams,
    dropConnections: () => {
      server.closeAllConnections();
      websocket.dropAll();
    },
    close: () => {
      closing ??= (async () => {
        clearInterval(sweep);
        await websocket.close();
        relayApp.closeStreams();
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        server.closeIdleConnections();
        // Long-polls and live streams would hold the server open; their clients reconnect.
        setTimeout(() => {
          server.closeAllConnections();
        }, 1_000).unref();
        await closed;
        await store.close();
      })();
      return closing;
    },
  };
}
