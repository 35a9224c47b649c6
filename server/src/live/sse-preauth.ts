// SSE subscriptions are authenticated before tRPC sees them: tRPC alone would answer 200 and then
// an error event, and PROTOCOL §3 wants a refused subscription to deliver nothing but a 401.
import type { NextFunction, Request, Response } from 'express';
import { getHTTPStatusCodeFromError } from '@trpc/server/http';
import { TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import superjson from 'superjson';
import { listProcedures, type RequestContext } from '@deaddrop/contract';
import type { MailboxAuth } from '../auth/mailbox-auth.js';
import { RelayFault, formatRelayError, toRelayFault } from '../relay-error.js';

const liveMailboxPaths = new Set(
  listProcedures()
    .filter(({ definition }) => definition.kind === 'subscription' && definition.auth === 'mailbox')
    .map(({ path }) => path),
);

/** `connectionParams` as httpSubscriptionLink puts it in the query string (a JSON object). */
export function connectionParamsOf(req: Request): Record<string, string> {
  const raw = req.query.connectionParams;
  if (typeof raw !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(raw);
    if (typeof parsed !== 'object' || parsed === null) return {};
    return Object.fromEntries(
      Object.entries(parsed).filter(
        (entry): entry is [string, string] => typeof entry[1] === 'string',
      ),
    );
  } catch {
    return {};
  }
}

function header(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export interface SsePreauthDeps {
  readonly auth: MailboxAuth;
  readonly apiKeyAccepted: ((key: string | undefined) => boolean) | null;
}

/**
 * Express middleware for the tRPC mount: verifies live-subscription requests, answers 401 itself,
 * and leaves the verified outcome for `primeContext` to hand to the context tRPC creates.
 */
export function createSsePreauth(deps: SsePreauthDeps) {
  const outcomes = new WeakMap<Request, Promise<string>>();

  const middleware = (req: Request, res: Response, next: NextFunction): void => {
    const path = req.path.replace(/^\//, '');
    if (req.method !== 'GET' || !liveMailboxPaths.has(path)) {
      next();
      return;
    }
    const params = connectionParamsOf(req);
    const ctx: RequestContext = {
      authorization: header(req.headers.authorization) ?? params.authorization,
      apiKey: header(req.headers['x-deaddrop-api-key']) ?? params.apiKey,
      paths: [path],
      transport: 'sse',
    };
    const outcome =
      deps.apiKeyAccepted !== null && !deps.apiKeyAccepted(ctx.apiKey)
        ? Promise.reject(new RelayFault('API_KEY_INVALID'))
        : deps.auth.verify(ctx);
    outcome.then(
      () => {
        outcomes.set(req, outcome);
        next();
      },
      (cause: unknown) => {
        const error = toRelayFault(cause);
        if (!(error instanceof RelayFault)) {
          next(error);
          return;
        }
        const httpStatus = getHTTPStatusCodeFromError(error);
        const shape = formatRelayError({
          error,
          shape: {
            message: error.message,
            code: TRPC_ERROR_CODES_BY_KEY[error.code],
            data: { code: error.code, httpStatus, path },
          },
        });
        res.status(httpStatus).json({ error: superjson.serialize(shape) });
      },
    );
  };

  return {
    middleware,
    /** Gives the context of a pre-authenticated request its verified outcome (one nonce per stream). */
    primeContext(req: Request, ctx: RequestContext): void {
      const outcome = outcomes.get(req);
      if (outcome !== undefined) deps.auth.prime(ctx, outcome);
    },
  };
}
