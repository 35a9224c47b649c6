// The Express application hosting the relay: tRPC at /trpc (queries, mutations, batches and SSE
// subscriptions, authenticated before tRPC for SSE), plus a liveness probe.
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { RequestContext } from '@deaddrop/contract';
import { createApiKeyCheck } from './auth/api-key.js';
import type { MailboxAuth } from './auth/mailbox-auth.js';
import { attachConnection } from './live/connections.js';
import { createSsePreauth } from './live/sse-preauth.js';
import type { Logger } from './log.js';
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

export function createRelayApp(
  services: RelayServices,
  auth: MailboxAuth,
  log: Logger,
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  const preauth = createSsePreauth({ auth, apiKeyAccepted: createApiKeyCheck(services.apiKeys) });
  app.use(
    '/trpc',
    preauth.middleware,
    createExpressMiddleware({
      router: createAppRouter(services, auth),
      maxBodySize: maxBodyBytes(services.limits.maxMessageBytes),
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ req, res, info }): RequestContext => {
        const live = info.type === 'subscription';
        const params = info.connectionParams ?? {};
        const ctx: RequestContext = {
          authorization: header(req.headers.authorization) ?? params.authorization,
          apiKey: header(req.headers['x-deaddrop-api-key']) ?? params.apiKey,
          paths: info.calls.map((call) => call.path),
          transport: live ? 'sse' : 'http',
        };
        if (live) {
          preauth.primeContext(req, ctx);
          attachConnection(ctx, {
            backlogBytes: () => res.writableLength,
            close: (reason) => {
              log.warn('live subscriber disconnected', { transport: 'sse', reason });
              res.destroy();
            },
          });
        }
        return ctx;
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
  return app;
}
