// The Express application hosting the relay: tRPC at /trpc (queries, mutations and batches), the
// inbox's SSE streams beside it on the same path, and the operator's endpoints (liveness, readiness,
// metrics).
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '@deaddrop/contract';
import { createApiKeyCheck } from './auth/api-key.js';
import type { MailboxAuth } from './auth/mailbox-auth.js';
import { createOperationsRoutes } from './http/operations.js';
import { createProcedureLane } from './http/procedure-lane.js';
import { clientAddress } from './limits/client-address.js';
import { createSseInbox } from './live/sse-inbox.js';
import type { Logger } from './log.js';
import { retryAfterSeconds } from './relay-error.js';
import { createAppRouter } from './router.js';
import type { RelayServices } from './services.js';

export const MAX_BATCH_SIZE = 100;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Room for two of the largest envelopes (b64u grows by 4/3) plus JSON framing. */
export function maxBodyBytes(maxMessageBytes: number): number {
  return 2 * Math.ceil((maxMessageBytes * 4) / 3) + 1024 * 1024;
}

export interface RelayApp {
  readonly app: express.Express;
  /** The HTTP server's request listener: the procedure lane first, then the Express app. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  /** Open SSE inbox streams. */
  readonly sseStreams: () => number;
  /** Ends every SSE stream (clients reconnect, elsewhere if the relay is going away). */
  readonly closeStreams: () => void;
  /** Marks the relay as closing: /readyz answers 503 from now on. */
  readonly startDraining: () => void;
}

export interface RelayAppOptions {
  /** Serve send, poll and stats on the lane beside tRPC (default); off, tRPC's adapter does (tests). */
  readonly procedureLane?: boolean;
  /** Bearer token /metrics requires; undefined leaves it open. */
  readonly metricsToken?: string | undefined;
}

export function createRelayApp(
  services: RelayServices,
  auth: MailboxAuth,
  log: Logger,
  options: RelayAppOptions = {},
): RelayApp {
  const app = express();
  const router = createAppRouter(services, auth);
  const bodyLimit = maxBodyBytes(services.limits.maxMessageBytes);
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  const operations = createOperationsRoutes({
    store: services.store,
    metrics: services.metrics,
    metricsToken: options.metricsToken,
  });
  app.use(operations.router);
  const inbox = createSseInbox({
    services,
    auth,
    apiKeyAccepted: createApiKeyCheck(services.apiKeys),
    log,
  });
  services.metrics.countLive('sse', inbox.size);
  app.use(
    '/trpc',
    inbox.middleware,
    createExpressMiddleware({
      router,
      maxBodySize: bodyLimit,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ req, info }): RequestContext => ({
        authorization: header(req.headers.authorization) ?? info.connectionParams?.authorization,
        apiKey: header(req.headers['x-deaddrop-api-key']) ?? info.connectionParams?.apiKey,
        paths: info.calls.map((call) => call.path),
        transport: 'http',
        clientIp: clientAddress(req, services.trustProxyHops),
      }),
      responseMeta: ({ errors }) => {
        const retryAfter = retryAfterSeconds(errors);
        return retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } };
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          log.error('procedure failed', { path, error: error.cause?.message ?? error.message });
        }
      },
    }),
  );
  // Anything that escapes the handlers: a generic 500, details only in the log. Express recognises
  // an error handler by its four parameters, so `next` stays although it is not called.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    log.error('request failed', { error: error instanceof Error ? error.message : String(error) });
    if (!res.headersSent) res.status(500).json({ error: 'internal relay error' });
  });
  const lane =
    options.procedureLane === false
      ? null
      : createProcedureLane({
          router,
          maxBodyBytes: bodyLimit,
          maxBatchSize: MAX_BATCH_SIZE,
          log,
          trustProxyHops: services.trustProxyHops,
        });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (lane === null || !lane(req, res)) app(req, res);
  };
  return {
    app,
    handle,
    sseStreams: inbox.size,
    closeStreams: inbox.close,
    startDraining: operations.startDraining,
  };
}
