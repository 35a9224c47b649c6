// The first checks a request meets, whatever carries it (the procedure lane, tRPC's HTTP adapter,
// the SSE writer, a WebSocket): its calls spend rate-limit tokens, then a relay access key is
// required where the procedure table says so. Done before a body or input is read, so a flood of
// malformed or oversized requests costs the relay no parsing; the router's own middlewares ask
// again for the same request context and find the tokens already spent.
import { listProcedures, type RequestContext } from '@deaddrop/contract';
import { createApiKeyCheck } from '../auth/api-key.js';
import { RelayFault } from '../relay-error.js';
import type { RequestLimiter } from './request-limiter.js';

const keyless: ReadonlySet<string> = new Set(
  listProcedures()
    .filter(({ definition }) => !definition.apiKey)
    .map(({ path }) => path),
);

export interface RequestAdmission {
  /**
   * Spends the request's call tokens (one per call), once per context: a batch and each HTTP
   * request pay once however often this is asked; each call on a WebSocket pays its own.
   */
  calls(ctx: RequestContext): Promise<void>;
  /** Whether the context carries an accepted access key (always, when the relay needs none). */
  keyAccepted(ctx: RequestContext): boolean;
  /**
   * `calls`, then the access key for a request none of whose calls may go without one:
   * RATE_LIMITED or API_KEY_INVALID before anything else is done for it.
   */
  admit(ctx: RequestContext): Promise<void>;
}

export function createRequestAdmission(
  limiter: RequestLimiter,
  apiKeys: readonly string[],
): RequestAdmission {
  const spent = new WeakMap<RequestContext, Promise<void>>();
  const accepted = createApiKeyCheck(apiKeys);
  const calls = (ctx: RequestContext): Promise<void> => {
    if (ctx.transport === 'ws') return limiter.calls(ctx.clientIp, 1);
    let spending = spent.get(ctx);
    if (spending === undefined) {
      spending = limiter.calls(ctx.clientIp, Math.max(ctx.paths.length, 1));
      spent.set(ctx, spending);
    }
    return spending;
  };
  const keyAccepted = (ctx: RequestContext): boolean => accepted === null || accepted(ctx.apiKey);
  return {
    calls,
    keyAccepted,
    async admit(ctx) {
      await calls(ctx);
      // A batch mixing `info` with keyed calls goes on: the router refuses those calls one by one.
      if (ctx.paths.every((path) => !keyless.has(path)) && !keyAccepted(ctx))
        throw new RelayFault('API_KEY_INVALID');
    },
  };
}
