// What guards every procedure call, in the order the relay checks it, as plain functions: the tRPC
// router's middlewares call them, and so does the direct caller the relay's own HTTP handlers use
// (direct-calls.ts) — one definition of each step, so the two cannot drift apart.
import { TRPCError } from '@trpc/server';
import { listProcedures, type ProcedureDefinition, type RequestContext } from '@deaddrop/contract';
import type { MailboxAuth } from './auth/mailbox-auth.js';
import { connectionOf, type LiveConnection } from './live/connections.js';
import { RelayFault } from './relay-error.js';
import type { RelayServices } from './services.js';
import { StoreUnavailableError } from './store/mailbox-store.js';

/** What a mailbox procedure's resolver sees: the request's context and the proven mailbox. */
export interface ProvenContext extends RequestContext {
  readonly agentId: string;
  readonly connection: LiveConnection | undefined;
}

export interface ProcedureSteps {
  /** The table's entry for `path`; NOT_FOUND for a path the table does not have. */
  definition(path: string): ProcedureDefinition;
  /** Counts a finished call by outcome and times it (outermost: the code the client sees). */
  measured(path: string, startedMs: number, code: string): void;
  /** A store outage reaching the caller as a failed call: the catalogue's 503, retryable. */
  storeOutage(error: TRPCError): TRPCError;
  /** Rate-limit tokens, then what the table asks of the procedure: access key, its own limit. */
  guard(ctx: RequestContext, path: string): Promise<void>;
  /** The mailbox proof: the proven mailbox and the live connection the request came on. */
  prove(ctx: RequestContext): Promise<{ agentId: string; connection: LiveConnection | undefined }>;
}

const definitions: ReadonlyMap<string, ProcedureDefinition> = new Map(
  listProcedures().map(({ path, definition }) => [path, definition]),
);

export function createProcedureSteps(services: RelayServices, auth: MailboxAuth): ProcedureSteps {
  const definition = (path: string): ProcedureDefinition => {
    const found = definitions.get(path);
    if (found === undefined) throw new TRPCError({ code: 'NOT_FOUND' });
    return found;
  };
  return {
    definition,
    measured(path, startedMs, code) {
      services.metrics.procedureCalled(path, code, (performance.now() - startedMs) / 1000);
    },
    storeOutage(error) {
      return error.cause instanceof StoreUnavailableError
        ? new RelayFault('STORE_UNAVAILABLE', undefined, { cause: error.cause })
        : error;
    },
    async guard(ctx, path) {
      // Before the access key and the proof, so floods are refused before any work on them. The
      // calls of one HTTP request (a batch) take their tokens together, once — usually already
      // spent by the transport before it read the request (request-admission.ts); a WebSocket's
      // context lasts as long as its connection, so there each call takes its own.
      await services.admission.calls(ctx);
      const entry = definition(path);
      if (entry.apiKey && !services.admission.keyAccepted(ctx))
        throw new RelayFault('API_KEY_INVALID');
      if (entry.kind === 'subscription') {
        // Served by the relay's own SSE writer and the WebSocket adapter, never as a stream from
        // tRPC's HTTP adapter (which would answer a refusal with 200 and an error event).
        if (ctx.transport === 'http')
          throw new TRPCError({
            code: 'METHOD_NOT_SUPPORTED',
            message: 'subscriptions are served over SSE (GET) or WebSocket',
          });
        await services.limiter.subscription(ctx.clientIp);
      }
      // A signature in the input writes the directory: registrations are limited per address.
      if (entry.auth === 'signature') await services.limiter.registration(ctx.clientIp);
    },
    async prove(ctx) {
      const agentId = await auth.verify(ctx);
      const connection = connectionOf(ctx);
      // A WebSocket that has proven a mailbox may now outlive its authentication deadline.
      connection?.authenticated?.();
      return { agentId, connection };
    },
  };
}
