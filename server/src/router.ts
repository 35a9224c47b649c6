// The relay's router, built from the contract's procedure table: every procedure takes its input
// and output schemas from `procedures`, and what guards it — the access key, a rate limit of its
// own, the mailbox proof — from the same entry's `apiKey`, `auth` and `kind`, so nothing here
// restates them. Its type is checked against `AppRouter` by a type test, both ways.
import { TRPCError } from '@trpc/server';
import {
  PROTOCOL_VERSIONS,
  listProcedures,
  procedures,
  type ProcedureDefinition,
  type RequestContext,
} from '@deaddrop/contract';
import { createMailboxAuth, type MailboxAuth } from './auth/mailbox-auth.js';
import { lookupAgent, registerAgent, rotateAgentKey } from './handlers/directory.js';
import { clearHook, getHook, setHook } from './handlers/hooks.js';
import { claimPrekey, publishPrekeys } from './handlers/prekeys.js';
import { streamInbox } from './handlers/inbox.js';
import { deleteMessages, mailboxStats, pollMailbox } from './handlers/mailbox.js';
import { sendMessage } from './handlers/send.js';
import { sendMany } from './handlers/send-many.js';
import { connectionOf } from './live/connections.js';
import { measureProcedures } from './metrics/measure-procedures.js';
import { RelayFault } from './relay-error.js';
import type { RelayServices } from './services.js';
import { StoreUnavailableError } from './store/mailbox-store.js';
import { t } from './trpc.js';

const definitions: ReadonlyMap<string, ProcedureDefinition> = new Map(
  listProcedures().map(({ path, definition }) => [path, definition]),
);

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
  // What the table asks of this procedure, in the order the relay checks it: the access key, then
  // the limit its kind of call has (counted before any proof, so failing attempts count too).
  const guarded = limited.use(async ({ ctx, path, next }) => {
    const definition = definitions.get(path);
    if (definition === undefined) throw new TRPCError({ code: 'NOT_FOUND' });
    if (definition.apiKey && !services.admission.keyAccepted(ctx))
      throw new RelayFault('API_KEY_INVALID');
    if (definition.kind === 'subscription') {
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
    if (definition.auth === 'signature') await services.limiter.registration(ctx.clientIp);
    return next();
  });
  const proven = guarded.use(async ({ ctx, next }) => {
    const agentId = await auth.verify(ctx);
    // Looked up here: `next` hands the resolver a new context object, not the request's own.
    const connection = connectionOf(ctx);
    // A WebSocket that has proven a mailbox may now outlive its authentication deadline.
    connection?.authenticated?.();
    return next({ ctx: { agentId, connection } });
  });

  /** The builder a procedure's `auth` calls for: a proven mailbox, or anyone. */
  type BuilderFor<D extends ProcedureDefinition> = D['auth'] extends 'mailbox'
    ? typeof proven
    : typeof guarded;
  const from = <D extends ProcedureDefinition>(definition: D): BuilderFor<D> =>
    // The one place the table's `auth` picks a type: TypeScript cannot narrow a generic by it.
    (definition.auth === 'mailbox' ? proven : guarded) as BuilderFor<D>;

  const p = procedures;
  return t.router({
    info: from(p.info)
      .output(p.info.output)
      .query(() => ({
        relayId: services.relayId,
        version: services.version,
        limits: services.limits,
        rateLimits: services.rateLimits,
        protocol: [...PROTOCOL_VERSIONS],
      })),
    directory: {
      register: from(p.directory.register)
        .input(p.directory.register.input)
        .output(p.directory.register.output)
        .mutation(({ input }) => registerAgent(services, input)),
      lookup: from(p.directory.lookup)
        .input(p.directory.lookup.input)
        .output(p.directory.lookup.output)
        .query(({ input }) => lookupAgent(services, input.agentId)),
      publishPrekeys: from(p.directory.publishPrekeys)
        .input(p.directory.publishPrekeys.input)
        .output(p.directory.publishPrekeys.output)
        .mutation(({ ctx, input }) => publishPrekeys(services, ctx.agentId, input)),
      claimPrekey: from(p.directory.claimPrekey)
        .input(p.directory.claimPrekey.input)
        .output(p.directory.claimPrekey.output)
        .mutation(({ ctx, input }) => claimPrekey(services, input.agentId, ctx)),
      rotate: from(p.directory.rotate)
        .input(p.directory.rotate.input)
        .output(p.directory.rotate.output)
        .mutation(({ input }) => rotateAgentKey(services, input)),
    },
    send: from(p.send)
      .input(p.send.input)
      .output(p.send.output)
      .mutation(({ ctx, input }) => sendMessage(services, input, ctx)),
    sendMany: from(p.sendMany)
      .input(p.sendMany.input)
      .output(p.sendMany.output)
      .mutation(({ ctx, input }) => sendMany(services, input, ctx)),
    poll: from(p.poll)
      .input(p.poll.input)
      .output(p.poll.output)
      .query(({ ctx, input, signal }) => pollMailbox(services, ctx.agentId, input, signal)),
    stats: from(p.stats)
      .output(p.stats.output)
      .query(({ ctx }) => mailboxStats(services, ctx.agentId)),
    delete: from(p.delete)
      .input(p.delete.input)
      .output(p.delete.output)
      .mutation(({ ctx, input }) => deleteMessages(services, ctx.agentId, input.ids)),
    inbox: from(p.inbox)
      .input(p.inbox.input)
      .subscription(({ ctx, input, signal }) =>
        streamInbox(services, ctx.agentId, input, signal, ctx.connection),
      ),
    hooks: {
      set: from(p.hooks.set)
        .input(p.hooks.set.input)
        .output(p.hooks.set.output)
        .mutation(({ ctx, input }) => setHook(services, ctx.agentId, input)),
      get: from(p.hooks.get)
        .output(p.hooks.get.output)
        .query(({ ctx }) => getHook(services, ctx.agentId)),
      clear: from(p.hooks.clear)
        .output(p.hooks.clear.output)
        .mutation(({ ctx }) => clearHook(services, ctx.agentId)),
    },
  });
}

export type RelayRouter = ReturnType<typeof createAppRouter>;
export type { RequestContext };
