// The relay's router, built from the contract's procedure table: every procedure takes its input
// and output schemas from `procedures`, and its kind is checked against `AppRouter` by a type test.
import { procedures, type RequestContext } from '@deaddrop/contract';
import { createApiKeyCheck } from './auth/api-key.js';
import { createMailboxAuth, type MailboxAuth } from './auth/mailbox-auth.js';
import { lookupAgent, registerAgent } from './handlers/directory.js';
import { streamInbox } from './handlers/inbox.js';
import { deleteMessages, mailboxStats, pollMailbox } from './handlers/mailbox.js';
import { connectionOf } from './live/connections.js';
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
  const apiKeyAccepted = createApiKeyCheck(services.apiKeys);

  // A store outage is a 503 the client may retry, not an internal error.
  const base = t.procedure.use(async ({ next }) => {
    const result = await next();
    if (!result.ok && result.error.cause instanceof StoreUnavailableError) {
      throw new RelayFault('STORE_UNAVAILABLE', undefined, { cause: result.error.cause });
    }
    return result;
  });
  const keyed = base.use(({ ctx, next }) => {
    if (apiKeyAccepted !== null && !apiKeyAccepted(ctx.apiKey))
      throw new RelayFault('API_KEY_INVALID');
    return next();
  });
  const mailbox = keyed.use(async ({ ctx, next }) => {
    const agentId = await auth.verify(ctx);
    // Looked up here: `next` hands the resolver a new context object, not the request's own.
    return next({ ctx: { agentId, connection: connectionOf(ctx) } });
  });

  const p = procedures;
  return t.router({
    info: base.output(p.info.output).query(() => ({
      relayId: services.relayId,
      version: services.version,
      limits: services.limits,
    })),
    directory: {
      register: keyed
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
      .mutation(({ input }) => sendMessage(services, input)),
    poll: mailbox
      .input(p.poll.input)
      .output(p.poll.output)
      .query(({ ctx, input, signal }) => pollMailbox(services, ctx.agentId, input, signal)),
    stats: mailbox.output(p.stats.output).query(({ ctx }) => mailboxStats(services, ctx.agentId)),
    delete: mailbox
      .input(p.delete.input)
      .output(p.delete.output)
      .mutation(({ ctx, input }) => deleteMessages(services, ctx.agentId, input.ids)),
    inbox: mailbox
      .input(p.inbox.input)
      .subscription(({ ctx, input, signal }) =>
        streamInbox(services, ctx.agentId, input, signal, ctx.connection),
      ),
  });
}

export type RelayRouter = ReturnType<typeof createAppRouter>;
export type { RequestContext };
