// The relay's router, built from the contract's procedure table: every procedure takes its input
// and output schemas from `procedures`, what guards it — the access key, a rate limit of its own,
// the mailbox proof — from the same entry's `apiKey`, `auth` and `kind` (procedure-steps.ts), and
// what it does from its resolver (procedure-resolvers.ts), so nothing here restates them. The
// relay's own HTTP handlers run the same steps and resolvers without tRPC's machinery
// (direct-calls.ts). Its type is checked against `AppRouter` by a type test, both ways.
import { procedures, type ProcedureDefinition, type RequestContext } from '@deaddrop/contract';
import { createMailboxAuth, type MailboxAuth } from './auth/mailbox-auth.js';
import { createDirectCaller, type DirectCaller } from './direct-calls.js';
import { streamInbox } from './handlers/inbox.js';
import { relayResolvers, type RelayResolvers } from './procedure-resolvers.js';
import { createProcedureSteps, type ProcedureSteps } from './procedure-steps.js';
import type { RelayServices } from './services.js';
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
  steps: ProcedureSteps = createProcedureSteps(services, auth),
  r: RelayResolvers = relayResolvers(services),
) {
  // Measured first (outermost), then a store outage is a 503 the client may retry, not an
  // internal error.
  const base = t.procedure.use(async ({ path, next }) => {
    const started = performance.now();
    let result = await next();
    if (!result.ok) {
      const error = steps.storeOutage(result.error);
      if (error !== result.error) result = { ...result, error };
    }
    steps.measured(path, started, result.ok ? 'OK' : result.error.code);
    return result;
  });
  const guarded = base.use(async ({ ctx, path, next }) => {
    await steps.guard(ctx, path);
    return next();
  });
  const proven = guarded.use(async ({ ctx, next }) =>
    // `next` hands the resolver a new context object, not the request's own.
    next({ ctx: await steps.prove(ctx) }),
  );

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
      .query(({ ctx, signal }) => r.info.run(ctx, undefined, signal)),
    directory: {
      register: from(p.directory.register)
        .input(p.directory.register.input)
        .output(p.directory.register.output)
        .mutation(({ ctx, input, signal }) => r['directory.register'].run(ctx, input, signal)),
      lookup: from(p.directory.lookup)
        .input(p.directory.lookup.input)
        .output(p.directory.lookup.output)
        .query(({ ctx, input, signal }) => r['directory.lookup'].run(ctx, input, signal)),
      publishPrekeys: from(p.directory.publishPrekeys)
        .input(p.directory.publishPrekeys.input)
        .output(p.directory.publishPrekeys.output)
        .mutation(({ ctx, input, signal }) =>
          r['directory.publishPrekeys'].run(ctx, input, signal),
        ),
      claimPrekey: from(p.directory.claimPrekey)
        .input(p.directory.claimPrekey.input)
        .output(p.directory.claimPrekey.output)
        .mutation(({ ctx, input, signal }) => r['directory.claimPrekey'].run(ctx, input, signal)),
      rotate: from(p.directory.rotate)
        .input(p.directory.rotate.input)
        .output(p.directory.rotate.output)
        .mutation(({ ctx, input, signal }) => r['directory.rotate'].run(ctx, input, signal)),
    },
    send: from(p.send)
      .input(p.send.input)
      .output(p.send.output)
      .mutation(({ ctx, input, signal }) => r.send.run(ctx, input, signal)),
    sendMany: from(p.sendMany)
      .input(p.sendMany.input)
      .output(p.sendMany.output)
      .mutation(({ ctx, input, signal }) => r.sendMany.run(ctx, input, signal)),
    poll: from(p.poll)
      .input(p.poll.input)
      .output(p.poll.output)
      .query(({ ctx, input, signal }) => r.poll.run(ctx, input, signal)),
    stats: from(p.stats)
      .output(p.stats.output)
      .query(({ ctx, signal }) => r.stats.run(ctx, undefined, signal)),
    delete: from(p.delete)
      .input(p.delete.input)
      .output(p.delete.output)
      .mutation(({ ctx, input, signal }) => r.delete.run(ctx, input, signal)),
    inbox: from(p.inbox)
      .input(p.inbox.input)
      .subscription(({ ctx, input, signal }) =>
        streamInbox(services, ctx.agentId, input, signal, ctx.connection),
      ),
    hooks: {
      set: from(p.hooks.set)
        .input(p.hooks.set.input)
        .output(p.hooks.set.output)
        .mutation(({ ctx, input, signal }) => r['hooks.set'].run(ctx, input, signal)),
      get: from(p.hooks.get)
        .output(p.hooks.get.output)
        .query(({ ctx, signal }) => r['hooks.get'].run(ctx, undefined, signal)),
      clear: from(p.hooks.clear)
        .output(p.hooks.clear.output)
        .mutation(({ ctx, signal }) => r['hooks.clear'].run(ctx, undefined, signal)),
    },
  });
}

export type RelayRouter = ReturnType<typeof createAppRouter>;

/** The router and the direct caller over the same steps and resolvers: what the transports run. */
export interface RelayProcedures {
  readonly router: RelayRouter;
  readonly call: DirectCaller;
}

export function createRelayProcedures(
  services: RelayServices,
  auth: MailboxAuth = mailboxAuthFor(services),
): RelayProcedures {
  const steps = createProcedureSteps(services, auth);
  const resolvers = relayResolvers(services);
  return {
    router: createAppRouter(services, auth, steps, resolvers),
    call: createDirectCaller(steps, resolvers),
  };
}
export type { RequestContext };
