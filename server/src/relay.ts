// Starting and stopping one relay process: store, relay id, HTTP server, periodic TTL sweep.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes, toB64u } from '@deaddrop/contract';
import { createAgentDirectory } from './agent-directory.js';
import { createRelayApp, maxBodyBytes } from './app.js';
import type { RelayConfig } from './env.js';
import { createLogger, type Logger } from './log.js';
import { logStoreAvailability } from './store-availability-log.js';
import { SLOW_CONSUMER_MS } from './handlers/inbox.js';
import { createRequestAdmission } from './limits/request-admission.js';
import { createRequestLimiter } from './limits/request-limiter.js';
import { createAddressConnections } from './live/address-connections.js';
import { createDispatcher } from './live/dispatcher.js';
import { attachWebSocket } from './live/websocket.js';
import { createRelayMetrics } from './metrics/relay-metrics.js';
import { createRelayProcedures, mailboxAuthFor } from './router.js';
import type { RelayServices } from './services.js';
import { createMailboxStore } from './store/create-store.js';
import { storeStartError } from './store/store-description.js';
import { countStoreErrors } from './store/error-counting-store.js';
import { StoreUnavailableError, type MailboxStore } from './store/mailbox-store.js';
import { allowedHostsFrom, type Resolver } from './webhooks/hook-target.js';
import { createWebhookNotifier, type WebhookTiming } from './webhooks/notifier.js';

/**
 * How often expired messages are removed from idle mailboxes (active ones are trimmed on every
 * append, and reads never return expired messages): a tenth of the TTL, between 1 and 15 minutes,
 * so that tens of thousands of idle mailboxes are not swept every minute.
 */
function sweepIntervalMs(ttlSeconds: number): number {
  return Math.min(Math.max((ttlSeconds * 1000) / 10, 60_000), 15 * 60_000);
}

/**
 * How long `close()` lets requests in flight finish before cutting their connections: a store call
 * is bounded well below it (2 s on Redis), and main.ts's 10 s forced exit well above it.
 */
const DRAIN_TIMEOUT_MS = 5_000;
/** While draining, how often connections that have fallen idle are closed. */
const IDLE_SWEEP_MS = 25;

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
  /**
   * Graceful shutdown: stops accepting connections, answers waiting long-polls (with what they
   * have), ends live streams with a reconnect (SSE ends, WebSockets get tRPC's notice), lets
   * requests in flight finish (at most DRAIN_TIMEOUT_MS), then closes the store.
   */
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
  /** Webhook timings and failure cap (tests shorten them; defaults per PROTOCOL §9). */
  readonly webhookTiming?: Partial<WebhookTiming>;
  /** How webhook hosts are resolved (tests point a name at chosen addresses). */
  readonly webhookResolver?: Resolver;
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

/** How long the store may take to answer the relay's first command before the start fails. */
const START_DEADLINE_MS = 10_000;

async function withinStartDeadline<T>(firstCommand: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new StoreUnavailableError(`no answer within ${String(START_DEADLINE_MS / 1_000)} s`));
    }, START_DEADLINE_MS);
  });
  try {
    return await Promise.race([firstCommand(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startRelay(
  config: RelayConfig,
  options: StartRelayOptions = {},
): Promise<RunningRelay> {
  const log = options.log ?? createLogger(process.stdout, { level: config.logLevel });
  const store =
    options.store ??
    (await createMailboxStore({
      redisUrl: config.redisUrl,
      redisClusterNodes: config.redisClusterNodes,
      redisWait: config.redisWait,
      keyPrefix: config.redisKeyPrefix,
      dataDir: config.dataDir,
      ttlSeconds: config.limits.ttlSeconds,
      maxMessages: config.limits.maxMessages,
    }));
  let relayId: string;
  try {
    // The first command: a store that cannot be reached stops the start here, saying why. Bounded:
    // a Redis Cluster whose seeds never answer keeps the command queued rather than failing it.
    relayId = await withinStartDeadline(async () => {
      if (config.relayId === undefined)
        return store.ensureRelayId(`relay-${toB64u(randomBytes(12))}`);
      await store.ping();
      return config.relayId;
    });
  } catch (error) {
    if (options.store === undefined) await store.close().catch(() => undefined);
    throw storeStartError(config, store, error, options.store !== undefined);
  }
  const metrics = createRelayMetrics();
  const countedStore = countStoreErrors(
    store,
    (kind) => {
      metrics.storeFailed(kind);
    },
    logStoreAvailability(log, store.kind),
  );
  const limiter = createRequestLimiter(countedStore, config.rateLimits);
  const now = options.now ?? Date.now;
  const webhooks = createWebhookNotifier({
    enabled: config.webhooks.enabled,
    allowedHosts: allowedHostsFrom(config.webhooks.allowedHosts),
    store: countedStore,
    relayId,
    metrics,
    log,
    now,
    timing: options.webhookTiming,
    resolve: options.webhookResolver,
  });
  const services: RelayServices = {
    log,
    store: countedStore,
    directory: createAgentDirectory(countedStore),
    dispatcher: createDispatcher(countedStore),
    relayId,
    version: packageVersion(),
    limits: config.limits,
    rateLimits: config.rateLimits,
    limiter,
    liveConnections: createAddressConnections(config.rateLimits.liveConnectionsPerAddress),
    admission: createRequestAdmission(limiter, config.apiKeys),
    trustProxyHops: config.trustProxyHops,
    apiKeys: config.apiKeys,
    now,
    slowConsumerMs: options.slowConsumerMs ?? SLOW_CONSUMER_MS,
    metrics,
    webhooks,
  };
  const auth = mailboxAuthFor(services);
  // Built once: the procedure lane, the plain API, tRPC's HTTP adapter, the SSE writer and the
  // WebSocket adapter all run these very procedures (the first two through the direct caller).
  const relayProcedures = createRelayProcedures(services, auth);
  const { router } = relayProcedures;
  const relayApp = createRelayApp(services, relayProcedures, log, {
    procedureLane: options.procedureLane ?? true,
    metricsToken: config.metricsToken,
  });
  let draining = false;
  const server = createServer((req, res) => {
    // While shutting down, every answer closes its connection: keep-alive clients go elsewhere.
    if (draining) res.shouldKeepAlive = false;
    relayApp.handle(req, res);
  });
  const websocket = attachWebSocket({
    server,
    services,
    router,
    log,
    maxAgeSeconds: config.wsMaxAgeSeconds,
    authTimeoutMs: config.wsAuthTimeoutMs,
    allowedOrigins: config.allowedOrigins,
    maxPayloadBytes: maxBodyBytes(config.limits),
  });
  metrics.countLive('websocket', websocket.size);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const sweep = setInterval(() => {
    countedStore.sweepExpired().catch((error: unknown) => {
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
        relayApp.startDraining();
        clearInterval(sweep);
        // Load balancers see /readyz fail and stop routing here while everything is still served.
        if (config.shutdownGraceMs > 0)
          await new Promise((resolve) => setTimeout(resolve, config.shutdownGraceMs));
        // No new connections from here on; idle keep-alive ones close now.
        draining = true;
        const closed = new Promise<void>((resolve) =>
          server.close(() => {
            resolve();
          }),
        );
        server.closeIdleConnections();
        // Long-polls answer now with what they have, SSE streams end, WebSocket clients get the
        // reconnect notice: each client resumes from its cursor, here after a restart or elsewhere.
        services.dispatcher.close();
        relayApp.closeStreams();
        await websocket.close();
        // Pending notices are dropped (a notice is a hint; the mail stays) and POSTs aborted.
        await webhooks.close();
        // Requests in flight (sends) finish, their connections closing as they fall idle; whatever
        // is still open after the drain bound is cut.
        const idle = setInterval(() => {
          server.closeIdleConnections();
        }, IDLE_SWEEP_MS);
        const cut = setTimeout(() => {
          server.closeAllConnections();
        }, DRAIN_TIMEOUT_MS);
        try {
          await closed;
        } finally {
          clearInterval(idle);
          clearTimeout(cut);
        }
        await store.close();
      })();
      return closing;
    },
  };
}
