// The Express application hosting the relay: tRPC at /trpc (queries, mutations and batches), the
// inbox's SSE streams beside it on the same path, the plain HTTP API at /v1 with its OpenAPI
// document at /openapi.json, and the operator's endpoints (liveness, readiness, metrics). Most
// calls never reach Express: the procedure lane and the plain API answer them first.
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RelayLimits, RequestContext } from '@deaddrop/contract';
import { openApiDocument } from './http/openapi-document.js';
import { createOperationsRoutes } from './http/operations.js';
import { createPlainApi } from './http/plain-api.js';
import { createProcedureLane } from './http/procedure-lane.js';
import { requestContext, samePaths, searchParamsOf, trpcCallAt } from './http/request-context.js';
import { writeCallAnswers } from './http/trpc-answer.js';
import { createSseInbox } from './live/sse-inbox.js';
import type { Logger } from './log.js';
import { RelayFault, retryAfterSeconds, toTRPCError } from './relay-error.js';
import type { RelayProcedures } from './router.js';
import type { RelayServices } from './services.js';

const MAX_BATCH_SIZE = 100;

/**
 * Room for two of the largest envelopes, or one of the largest group sends (b64u grows by 4/3),
 * plus JSON framing (100 items' recipients and keys fit in it too).
 */
export function maxBodyBytes(limits: RelayLimits): number {
  const envelopes = Math.max(2 * limits.maxMessageBytes, limits.maxBatchBytes);
  return Math.ceil((envelopes * 4) / 3) + 1024 * 1024;
}

export interface RelayApp {
  readonly app: express.Express;
  /** The HTTP server's request listener: the procedure lane, the plain API, then the Express app. */
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
  { router, call }: RelayProcedures,
  log: Logger,
  options: RelayAppOptions = {},
): RelayApp {
  const app = express();
  const bodyLimit = maxBodyBytes(services.limits);
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  // Someone who opens the relay's address in a browser or with curl learns what it is.
  app.get('/', (_req, res) => {
    res.json({
      service: 'DeadDrop relay',
      version: services.version,
      relayId: services.relayId,
      procedures: '/trpc (tRPC over HTTP, SSE and WebSocket); GET /trpc/info for the limits',
      api: '/v1 (plain HTTP and JSON, SSE for the inbox); GET /openapi.json describes it',
      operations: ['/healthz', '/readyz', '/metrics'],
      docs: 'docs/PROTOCOL.md in the DeadDrop repository',
    });
  });
  const operations = createOperationsRoutes({
    store: services.store,
    metrics: services.metrics,
    metricsToken: options.metricsToken,
  });
  app.use(operations.router);
  // Built once, at startup: the document describes this relay (its version, whether it asks for
  // access keys) and never changes while it runs.
  const openApi = JSON.stringify(
    openApiDocument({ version: services.version, accessKeys: services.apiKeys.length > 0 }),
  );
  app.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(openApi);
  });
  const inbox = createSseInbox({ services, router, admission: services.admission, log });
  services.metrics.countLive('sse', inbox.size);
  // Requests the lane passed on reach tRPC's adapter; they too spend their tokens and show their
  // key before the adapter reads a body. The context made here is the one the router sees.
  const contexts = new WeakMap<IncomingMessage, RequestContext>();
  const admitted = (req: Request, res: Response, next: NextFunction): void => {
    // The paths as the adapter will read them: Express's path under the mount.
    const call = trpcCallAt(req.path, searchParamsOf(req.url).get('batch') === '1');
    const refuse = (cause: unknown): void => {
      // Answered as tRPC would answer every call of the request, its body left unread.
      const refusal = toTRPCError(cause);
      const answered = call ?? { paths: [''], batch: false };
      req.resume();
      writeCallAnswers(
        res,
        answered,
        answered.paths.map(() => refusal),
        log,
      );
    };
    // tRPC's adapter builds a Request from a URL made with the Host header and answers 500 when
    // it cannot (`Host: 127.0.0@1` reads as credentials): the client's mistake, refused as such.
    if (!isPlainHost(req.headers.host)) {
      refuse(new RelayFault('BAD_INPUT', 'the Host header is not a host name'));
      return;
    }
    const ctx = requestContext(req, services.trustProxyHops, 'http', call?.paths ?? []);
    contexts.set(req, ctx);
    services.admission.admit(ctx).then(() => {
      next();
    }, refuse);
  };
  app.use(
    '/trpc',
    inbox.middleware,
    admitted,
    createExpressMiddleware({
      router,
      maxBodySize: bodyLimit,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ req, info }): RequestContext => {
        const paths = info.calls.map((call) => call.path);
        const admittedCtx = contexts.get(req);
        // The admitted context, unless tRPC reads the request differently (connectionParams).
        if (
          admittedCtx !== undefined &&
          info.connectionParams === null &&
          samePaths(admittedCtx.paths, paths)
        )
          return admittedCtx;
        return requestContext(req, services.trustProxyHops, 'http', paths, {
          authorization: info.connectionParams?.authorization,
          apiKey: info.connectionParams?.apiKey,
        });
      },
      responseMeta: ({ errors }) => {
        const retryAfter = retryAfterSeconds(errors);
        return retryAfter === undefined ? {} : { headers: { 'retry-after': String(retryAfter) } };
      },
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          log.error('procedure failed', { path, error: error.cause?.message ?? error.message });
        } else if (error.cause !== undefined) {
          // The client's mistake, in a parser's words: for the log, not for the answer.
          log.debug('call refused', { path, error: error.cause.message });
        }
      },
    }),
  );
  // Any other path: JSON in the relay's error shape, not Express's HTML page.
  app.use((req: Request, res: Response) => {
    res.status(404).json({
      error: {
        code: 'NOT_FOUND',
        message: `nothing at ${req.method} ${req.path}; the relay serves /trpc, /v1, /openapi.json, /healthz, /readyz and /metrics`,
      },
    });
  });
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
          call,
          admission: services.admission,
          maxBodyBytes: bodyLimit,
          maxBatchSize: MAX_BATCH_SIZE,
          log,
          trustProxyHops: services.trustProxyHops,
        });
  const plainApi = createPlainApi({
    call,
    admission: services.admission,
    inbox,
    maxBodyBytes: bodyLimit,
    log,
    trustProxyHops: services.trustProxyHops,
  });
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (lane !== null && lane(req, res)) return;
    if (inbox.handle(req, res)) return;
    if (!plainApi(req, res)) app(req, res);
  };
  return {
    app,
    handle,
    sseStreams: inbox.size,
    closeStreams: inbox.close,
    startDraining: operations.startDraining,
  };
}

/** A Host header that names a host (and port) and nothing else: no credentials, path or query. */
function isPlainHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  if (!URL.canParse(`http://${host}/`)) return false;
  const url = new URL(`http://${host}/`);
  return (
    url.username === '' &&
    url.password === '' &&
    url.pathname === '/' &&
    url.search === '' &&
    url.hash === ''
  );
}
