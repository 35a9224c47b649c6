// What each query and mutation does once its call is admitted and its input parsed: one resolver
// per procedure of the contract's table, used by the tRPC router and by the direct caller alike
// (direct-calls.ts). Each is bound to its table entry, whose schemas parse its input and check
// its output on the direct path as tRPC's validators do on the router's.
import type { z } from 'zod';
import {
  PROTOCOL_VERSIONS,
  procedures,
  type ProcedureDefinition,
  type RequestContext,
} from '@deaddrop/contract';
import { lookupAgent, registerAgent, rotateAgentKey } from './handlers/directory.js';
import { clearHook, getHook, setHook } from './handlers/hooks.js';
import { deleteMessages, mailboxStats, pollMailbox } from './handlers/mailbox.js';
import { claimPrekey, publishPrekeys } from './handlers/prekeys.js';
import { sendMany } from './handlers/send-many.js';
import { sendMessage } from './handlers/send.js';
import type { ProvenContext } from './procedure-steps.js';
import type { RelayServices } from './services.js';

type ResolverContext<D extends ProcedureDefinition> = D['auth'] extends 'mailbox'
  ? ProvenContext
  : RequestContext;
type ResolverInput<D extends ProcedureDefinition> = D['input'] extends z.ZodType
  ? z.output<D['input']>
  : undefined;
type ResolverOutput<D extends ProcedureDefinition> = z.input<D['output']>;

export interface Resolver<D extends ProcedureDefinition> {
  readonly definition: D;
  /** For the router: tRPC has parsed the input and checks the output. */
  readonly run: (
    ctx: ResolverContext<D>,
    input: ResolverInput<D>,
    signal: AbortSignal | undefined,
  ) => ResolverOutput<D> | Promise<ResolverOutput<D>>;
}

/** A resolver with its types erased: what the direct caller holds, by path. */
export interface ErasedResolver {
  readonly definition: ProcedureDefinition;
  /**
   * `input` already parsed by `definition.input` and `ctx` proven when `definition.auth` is
   * 'mailbox' — the direct caller's duty, which its equivalence tests check.
   */
  readonly runChecked: (
    ctx: RequestContext | ProvenContext,
    input: unknown,
    signal: AbortSignal | undefined,
  ) => unknown;
}

function resolver<D extends ProcedureDefinition>(
  definition: D,
  run: Resolver<D>['run'],
): Resolver<D> & ErasedResolver {
  return {
    definition,
    run,
    // The one place the types are erased: the caller has parsed `input` with this very entry's
    // schema and proven the mailbox exactly when this entry asks for it.
    runChecked: (ctx, input, signal) =>
      run(ctx as ResolverContext<D>, input as ResolverInput<D>, signal),
  };
}

export function relayResolvers(services: RelayServices) {
  const p = procedures;
  return {
    info: resolver(p.info, () => ({
      relayId: services.relayId,
      version: services.version,
      limits: services.limits,
      rateLimits: services.rateLimits,
      protocol: [...PROTOCOL_VERSIONS],
    })),
    'directory.register': resolver(p.directory.register, (_ctx, input) =>
      registerAgent(services, input),
    ),
    'directory.lookup': resolver(p.directory.lookup, (_ctx, input) =>
      lookupAgent(services, input.agentId),
    ),
    'directory.publishPrekeys': resolver(p.directory.publishPrekeys, (ctx, input) =>
      publishPrekeys(services, ctx.agentId, input),
    ),
    'directory.claimPrekey': resolver(p.directory.claimPrekey, (ctx, input) =>
      claimPrekey(services, input.agentId, ctx),
    ),
    'directory.rotate': resolver(p.directory.rotate, (_ctx, input) =>
      rotateAgentKey(services, input),
    ),
    send: resolver(p.send, (ctx, input) => sendMessage(services, input, ctx)),
    sendMany: resolver(p.sendMany, (ctx, input) => sendMany(services, input, ctx)),
    poll: resolver(p.poll, (ctx, input, signal) =>
      pollMailbox(services, ctx.agentId, input, signal),
    ),
    stats: resolver(p.stats, (ctx) => mailboxStats(services, ctx.agentId)),
    delete: resolver(p.delete, (ctx, input) => deleteMessages(services, ctx.agentId, input.ids)),
    'hooks.set': resolver(p.hooks.set, (ctx, input) => setHook(services, ctx.agentId, input)),
    'hooks.get': resolver(p.hooks.get, (ctx) => getHook(services, ctx.agentId)),
    'hooks.clear': resolver(p.hooks.clear, (ctx) => clearHook(services, ctx.agentId)),
  } satisfies Record<string, ErasedResolver>;
}

export type RelayResolvers = ReturnType<typeof relayResolvers>;
