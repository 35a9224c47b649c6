// The Express application hosting the relay: tRPC at /trpc (queries, mutations, batches and SSE
// subscriptions), plus a liveness probe.
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import type { RequestContext } from '@deaddrop/contract';
import { createAppRouter } from './router.js';
import type { RelayServices } from './services.js';
import type { Logger } from './log.js';

export const MAX_BATCH_SIZE = 100;

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Room for two of the largest envelopes (b64u grows by 4/3) plus JSON framing. */
export function maxBodyBytes(maxMessageBytes: number): number {
  return 2 * Math.ceil((maxMessageBytes * 4) / 3) + 1024 * 1024;
}

export function createRelayApp(services: RelayServices, log: Logger): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  app.use(
    '/trpc',
    createExpressMiddleware({
      router: createAppRouter(services),
      maxBodySize: maxBodyBytes(services.limits.maxMessageBytes),
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: ({ req, info }): RequestContext => ({
        authorization: header(req.headers.authorization) ?? info.connectionParams?.authorization,
        apiKey: header(req.headers['x-deaddrop-api-key']) ?? info.connectionParams?.apiKey,
        paths: info.calls.map((call) => call.path),
        transport: info.type === 'subscription' ? 'sse' : 'http',
      }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') {
          log.error('procedure failed', { path, error: error.cause?.message ?? error.message });
        }
      },
    }),
  );
  return app;
}
