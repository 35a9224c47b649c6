// The relay's router, built from the contract's procedure table: every procedure takes its input
// and output schemas from `procedures`, and its kind is checked against `AppRouter` by a type test.
import { TRPCError } from '@trpc/server';
import { procedures, type RequestContext } from '@deaddrop/contract';
import { createMailboxAuth, type MailboxAuth } from './auth/mailbox-auth.js';
import { lookupAgent, registerAgent } from './handlers/directory.js';
import { streamInbox } from './handlers/inbox.js';
import { deleteMessages, mailboxStats, pollMailbox } from './handlers/mailbox.js';
import { connectionOf } from './live/connections.js';
import { measureProcedures } from './metrics/measure-procedures.js';
import { sendMessage } from './handlers/send.js';
import { RelayFault } from './relay-error.js';
import type { RelayServices } from './services.js';
import { StoreUnavailableError } from './store/mailbox-store.js';
import { t } from './trpc.js';

export function mailboxAuthFor(services: RelayServices): MailboxAuth {
  return createMailboxAuth({
    relayId: services.relayId,
    authWindowSeconds: services.limits.authWindowSeconds,
    store: services.store,
    directory: services.directory,
    now: services.now,
  });
}

export function createAppRouter(
  services: RelayServices,
  auth: MailboxAuth = mailboxAuthFor(services),
) {
  // Measured first (outermost), then a store outage is a 503 the client may retry, not an
  // internal error.
  const base = t.procedure.use(measureProcedures(services.metrics)).use(async ({ next }) => {
    const result = await next();
    if (!result.ok && result.error.cause instanceof StoreUnavailableError) {
      throw new RelayFault('STORE_UNAVAILABLE', undefined, { cause: result.error.cause });
    }
    return result;
  });
  // Before the access key and the proof, so floods are refused before any work on them. The calls
  // of one HTTP request (a batch) take their tokens together, once — usually already spent by the
  // transport before it read the request (request-admission.ts); a WebSocket's context lasts as
  // long as its connection, so there each call takes its own.
  const limited = base.use(async ({ ctx, next }) => {
    await services.admission.calls(ctx);
    return next();
  });
  const keyed = limited.use(({ ctx, next }) => {
    if (!services.admission.keyAccepted(ctx)) throw new RelayFault('API_KEY_INVALID');
    return next();
  });
  const authenticated = t.middleware(async ({ ctx, next }) => {
    const agentId = await auth.verify(ctx);
    // Looked up here: `next` hands the resolver a new context object, not the request's own.
    const connection = connectionOf(ctx);
    // A WebSocket that has proven a mailbox may now outlive its authentication deadline.
    connection?.authenticated?.();
    return next({ ctx: { agentId, connection } });
  });
  const mailbox = keyed.use(authenticated);
  // Subscriptions are served by the relay's own SSE writer and the WebSocket adapter, never as a
  // stream from tRPC's HTTP adapter (which would answer a refusal with 200 and an error event).
  // Counted before the proof is checked, so failing attempts count too.
  const subscriber = keyed
    .use(({ ctx, next }) => {
      if (ctx.transport === 'http')
        throw new TRPCError({
          code: 'METHOD_NOT_SUPPORTED',
          message: 'subscriptions are served over SSE (GET) or WebSocket',
        });
      return next();
    })
    .use(async ({ ctx, next }) => {
      await services.limiter.subscription(ctx.clientIp);
      return next();
    })
    .use(authenticated);
  const registrant = keyed.use(async ({ ctx, next }) => {
    await services.limiter.registration(ctx.clientIp);
    return next();
  });

  const p = procedures;
  return t.router({
    info: limited.output(p.info.output).query(() => ({
      relayId: services.relayId,
      version: services.version,
      limits: services.limits,
      rateLimits: services.rateLimits,
    })),
    directory: {
      register: registrant
        .input(p.directory.register.input)
        .output(p.directory.register.output)
        .mutation(({ input }) => registerAgent(services, input)),
      lookup: keyed
        .input(p.directory.lookup.input)
        .output(p.directory.lookup.output)
        .query(({ input }) => lookupAgent(services, input.agentId)),
    },
    send: keyed
      .input(p.send.input)
      .output(p.send.output)
      .mutation(({ ctx, input }) => sendMessage(services, input, ctx)),
    poll: mailbox
      .input(p.poll.input)
      .output(p.poll.output)
      .query(({ ctx, input, signal }) => pollMailbox(services, ctx.agentId, input, signal)),
    stats: mailbox.output(p.stats.output).query(({ ctx }) => mailboxStats(services, ctx.agentId)),
    delete: mailbox
      .input(p.delete.input)
      .output(p.delete.output)
      .mutation(({ ctx, input }) => deleteMessages(services, ctx.agentId, input.ids)),
    inbox: subscriber
      .input(p.inbox.input)
      .subscription(({ ctx, input, signal }) =>
        streamInbox(services, ctx.agentId, input, signal, ctx.connection),
      ),
  });
}

export type RelayRouter = ReturnType<typeof createAppRouter>;
export type { RequestContext };
